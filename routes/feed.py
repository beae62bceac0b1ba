"""The podcast feed: produced episodes as RSS 2.0 with the iTunes and Podcasting 2.0 tags, and
each episode's chapters as Podcasting 2.0 JSON chapters.

An episode is a completed run whose episode folder holds `episode.m4a` or `episode.mp3`
(stage 6). The item's description is `summary.json`'s summary (stage 5), its chapters come from
`production.json` (times in the episode) or else `summary.json`, and the transcripts are offered
as stage 2 wrote them (their times are the source's). With `server.auth_token` set, every URL
in the feed carries `?token=`, since a podcast app can only use the URL.
"""
import json
import logging
import math
import re
import xml.etree.ElementTree as ET
from datetime import timezone
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app, url_for

from routes.errors import api_error, unknown_run
from routes.insights import read_json_object
from routes.runs import run_or_none
from services.media.ffmpeg import MediaError, probe
from storage.database import db
from storage.models import Run, utcnow
from webui.access import configured_token, request_authorized

log = logging.getLogger(__name__)
bp = Blueprint("feed", __name__)

MAX_ITEMS = 100
EPISODE_TYPES = {"episode.m4a": "audio/mp4", "episode.mp3": "audio/mpeg"}
TRANSCRIPT_TYPES = {"transcript.srt": "application/x-subrip", "transcript.vtt": "text/vtt"}
CHAPTERS_TYPE = "application/json+chapters"
RSS_TYPE = "application/rss+xml; charset=utf-8"
NAMESPACES = {"itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
              "podcast": "https://podcastindex.org/namespace/1.0",
              "atom": "http://www.w3.org/2005/Atom"}
# Characters XML 1.0 cannot carry at all, even escaped (a title may hold any of them).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

for _prefix, _uri in NAMESPACES.items():
    ET.register_namespace(_prefix, _uri)


def _tag(name):
    """`prefix:local` as ElementTree's `{uri}local`."""
    prefix, _, local = name.rpartition(":")
    return f"{{{NAMESPACES[prefix]}}}{local}" if prefix else local


def _add(parent, name, text=None, /, **attributes):
    """A child element with text and attributes, less the characters XML cannot hold."""
    element = ET.SubElement(parent, _tag(name),
                            {key: NOT_XML.sub("", str(value)) for key, value in attributes.items()})
    if text is not None:
        element.text = NOT_XML.sub("", str(text))
    return element


def _url(endpoint, **values):
    """An absolute URL, with the access token when one is configured."""
    token = configured_token()
    if token:
        values["token"] = token
    return url_for(endpoint, _external=True, **values)


def _settings():
    return current_app.config["PIPELINE"].get("feed") or {}


def _rfc2822(moment):
    """A stored (naive UTC) datetime as an RFC 2822 date."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _episodes_root():
    return Path(current_app.extensions["pipeline"].episodes_root)


def episode_file(folder, production):
    """The episode's audio file in `folder` (production.json's choice first), or None."""
    named = ((production or {}).get("episode") or {}).get("file")
    for name in ([named] if named in EPISODE_TYPES else []) + list(EPISODE_TYPES):
        if (folder / name).is_file():
            return folder / name
    return None


@lru_cache(maxsize=512)
def _probed_duration(path, _mtime_ns, _size):
    """The file's duration in seconds (cached per file version), or None when unreadable."""
    try:
        return probe(path)["duration"]
    except MediaError:
        log.warning("Cannot read the duration of %s", path, exc_info=True)
        return None


def episode_duration(path, production):
    """Seconds of the episode: probed from the file, else production.json's planned duration."""
    stat = path.stat()
    seconds = _probed_duration(str(path), stat.st_mtime_ns, stat.st_size)
    if seconds is None:
        seconds = _number(((production or {}).get("episode") or {}).get("planned_duration"))
    return seconds


def episode_chapters(folder):
    """[(start, title)] in episode time: production.json's chapters, else summary.json's.

    A production.json with a `chapters` list is the truth even when empty (a highlights
    episode has none that match the source); summary.json's times are the source's, right
    only for an episode that is the source as it was.
    """
    production = read_json_object(folder / "production.json") or {}
    source = production.get("chapters")
    if not isinstance(source, list):
        source = (read_json_object(folder / "summary.json") or {}).get("chapters")
    timed = []
    for chapter in source if isinstance(source, list) else []:
        start = _number(chapter.get("start")) if isinstance(chapter, dict) else None
        if start is not None and start >= 0:
            title = chapter.get("title")
            timed.append((round(start, 3), title.strip() if isinstance(title, str) else ""))
    timed.sort(key=lambda chapter: chapter[0])
    return [(start, title or f"Chapter {number}") for number, (start, title) in enumerate(timed, 1)]


def _episode_runs():
    """(run, folder, audio file, production) of the newest MAX_ITEMS episodes, one per folder."""
    root = _episodes_root()
    query = (db.select(Run).where(Run.state == "completed")
             .order_by(Run.finished_at.desc(), Run.id.desc()))
    seen, episodes = set(), []
    for run in db.session.scalars(query.execution_options(yield_per=200)):
        if run.episode_dir in seen:
            continue
        seen.add(run.episode_dir)
        folder = root / run.episode_dir
        production = read_json_object(folder / "production.json")
        audio = episode_file(folder, production)
        if audio is not None:
            episodes.append((run, folder, audio, production))
            if len(episodes) >= MAX_ITEMS:
                break
    return episodes


def _item(channel, run, folder, audio, production):
    """One episode's <item>."""
    item = _add(channel, "item")
    title = (run.title or "").strip() or run.url
    _add(item, "title", title)
    _add(item, "link", _url("runs.detail", session_id=run.session_id))
    _add(item, "guid", run.session_id, isPermaLink="false")
    _add(item, "pubDate", _rfc2822(run.finished_at or run.created_at))
    summary = (read_json_object(folder / "summary.json") or {}).get("summary")
    _add(item, "description", summary.strip() if isinstance(summary, str) and summary.strip()
         else title)
    _add(item, "enclosure", url=_url("runs.file", session_id=run.session_id, name=audio.name),
         length=audio.stat().st_size, type=EPISODE_TYPES[audio.name])
    seconds = episode_duration(audio, production)
    if seconds is not None:
        _add(item, "itunes:duration", round(seconds))
    if episode_chapters(folder):
        _add(item, "podcast:chapters", url=_url("feed.chapters", session_id=run.session_id),
             type=CHAPTERS_TYPE)
    for name, kind in TRANSCRIPT_TYPES.items():
        if (folder / name).is_file():
            _add(item, "podcast:transcript", url=_url("runs.file", session_id=run.session_id,
                                                      name=name), type=kind)


def build_feed():
    """The feed document as UTF-8 bytes."""
    settings = _settings()
    episodes = _episode_runs()
    rss = ET.Element("rss", {"version": "2.0"})
    channel = _add(rss, "channel")
    _add(channel, "title", settings.get("title") or "YouTube Pipeline episodes")
    _add(channel, "link", _url("dashboard.index"))
    _add(channel, "atom:link", href=_url("feed.feed"), rel="self", type="application/rss+xml")
    _add(channel, "description", settings.get("description") or "Episodes produced by the pipeline.")
    _add(channel, "language", settings.get("language") or "en")
    newest = episodes[0][0].finished_at if episodes else None
    _add(channel, "lastBuildDate", _rfc2822(newest or utcnow()))
    _add(channel, "itunes:author", settings.get("author") or "YouTube Pipeline")
    _add(channel, "itunes:explicit", "true" if settings.get("explicit") else "false")
    if settings.get("category"):
        _add(channel, "itunes:category", text=settings["category"])
    if settings.get("image"):
        _add(channel, "itunes:image", href=settings["image"])
    _add(channel, "podcast:medium", "podcast")
    for episode in episodes:
        _item(channel, *episode)
    return ET.tostring(rss, encoding="utf-8", xml_declaration=True)


@bp.get("/feed.xml")
def feed():
    """The podcast feed of produced episodes, newest first."""
    return current_app.response_class(build_feed(), content_type=RSS_TYPE)


@bp.get("/runs/<run_id(api=True):session_id>/chapters.json")
def chapters(session_id):
    """The episode's chapters as Podcasting 2.0 JSON chapters."""
    run = run_or_none(session_id)
    if run is None:
        return unknown_run()
    found = episode_chapters(_episodes_root() / run.episode_dir)
    if not found:
        return api_error(404, "no_chapters", "This run has no chapters yet.")
    body = {"version": "1.2.0",
            "chapters": [{"startTime": start, "title": title} for start, title in found]}
    return current_app.response_class(json.dumps(body), mimetype=CHAPTERS_TYPE)


@bp.after_request
def refuse_without_token(response):
    """Answer a missing token with 401, not the login page: a podcast app cannot sign in."""
    if response.status_code == 302 and configured_token() and not request_authorized():
        return api_error(401, "unauthorized", "Add ?token=<access token> to the feed's URL.")
    return response
