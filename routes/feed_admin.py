"""The feed's page for the person who runs it: the URL to subscribe to, what Apple would
refuse, rotating the feed token, and re-publishing an episode on purpose."""
from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for

from routes.errors import api_error, prefers_html, unknown_run
from routes.feed import feed_episodes, feed_url, settings
from routes.runs import run_or_none
from services.podcast import episodes, identity
from services.podcast.channel import apple_problems
from services.podcast.feed_token import TokenConfigured, rotate
from webui.access import configured_token

bp = Blueprint("feed_admin", __name__)


@bp.get("/feed")
def page():
    """The subscribe URL, the channel's settings and what to fix before publishing."""
    found = feed_episodes()
    has_cover = any(episodes.episode_cover(episode["folder"]) for episode in found)
    feed = settings()
    return render_template("feed.html", subscribe_url=feed_url("feed.feed"), feed=feed,
                           problems=apple_problems(feed, has_cover), episodes=found,
                           protected=bool(configured_token()),
                           token_configured=bool(feed.get("token")))


@bp.post("/api/feed/token")
def rotate_token():
    """A new feed token: every app must subscribe again with the new URL."""
    try:
        rotate(current_app.config["PIPELINE"])
    except TokenConfigured as exc:
        if prefers_html():
            return redirect(url_for("feed_admin.page"), 303)
        return api_error(409, "token_configured", str(exc))
    if prefers_html():
        return redirect(url_for("feed_admin.page"), 303)
    return jsonify({"subscribe_url": feed_url("feed.feed")})


@bp.post("/api/runs/<run_id(api=True):session_id>/republish")
def republish(session_id):
    """Publish the run's episode again: a new pubDate, the same guid and URLs."""
    run = run_or_none(session_id)
    if run is None:
        return unknown_run()
    folder = Path(current_app.extensions["pipeline"].episodes_root) / run.episode_dir
    record = identity.republish(folder)
    if record is None:
        return api_error(404, "not_published", "This run's episode has not been published: "
                         "run Audio Production (stage 6) first.")
    if prefers_html():
        return redirect(url_for("runs.detail", session_id=session_id), 303)
    return jsonify({"guid": record["guid"], "published_at": record["published_at"]})
