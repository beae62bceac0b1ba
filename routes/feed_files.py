"""The files a feed links, by episode folder: `/feed/episodes/<folder>/<name>`.

Only the names in services/podcast/episodes.FEED_FILES are served (the episode, its cover, its
transcripts in episode time and its JSON chapters), and only for folders the feed lists (a
completed run left an episode there). With access control on these are the paths the feed's
read-only token opens (webui/access.py FEED_PATHS). Every answer allows any origin, so web
players can read transcripts and chapters."""
import json
from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory

from routes.errors import api_error, unknown_run
from routes.feed import refuse_without_token
from routes.runs import run_or_none
from services.podcast import episodes
from storage.database import db
from storage.models import Run

bp = Blueprint("feed_files", __name__)
bp.after_request(refuse_without_token)


def _root():
    return Path(current_app.extensions["pipeline"].episodes_root)


def _listed_folder(folder):
    """The episode folder `folder` names when the feed lists it, else None."""
    listed = db.session.scalar(db.select(Run.id).where(Run.episode_dir == folder,
                                                       Run.state == "completed").limit(1))
    if listed is None:
        return None
    path = _root() / folder
    if episodes.episode_file(path, episodes.production_of(path)) is None:
        return None
    return path


def chapters_response(found):
    """JSON chapters of [(start, title)] as the answer to a request."""
    return current_app.response_class(json.dumps(episodes.chapters_document(found)),
                                      mimetype=episodes.CHAPTERS_TYPE)


@bp.get("/feed/episodes/<path:folder>/<name>")
def episode_file(folder, name):
    """One file of a listed episode, with byte ranges and open to any origin."""
    if name not in episodes.FEED_FILES or any(part.startswith(".") for part in folder.split("/")):
        abort(404)
    path = _listed_folder(folder)
    if path is None:
        abort(404)
    if name == episodes.CHAPTERS_NAME:
        found = episodes.episode_chapters(path)
        if not found:
            return api_error(404, "no_chapters", "This episode has no chapters.")
        response = chapters_response(found)
    else:
        if not (path / name).is_file():
            abort(404)
        response = send_from_directory(path, name, mimetype=episodes.FEED_FILES[name],
                                       max_age=0, conditional=True)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/runs/<run_id(api=True):session_id>/chapters.json")
def chapters(session_id):
    """A run's episode chapters as Podcasting 2.0 JSON chapters."""
    run = run_or_none(session_id)
    if run is None:
        return unknown_run()
    found = episodes.episode_chapters(_root() / run.episode_dir)
    if not found:
        return api_error(404, "no_chapters", "This run has no chapters yet.")
    response = chapters_response(found)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
