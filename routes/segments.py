"""The segment review page, its data and waveform peaks, and Continue with the chosen selection."""
import math
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, render_template, request

from orchestration.pipeline import SelectionError
from routes.errors import api_error, unknown_run
from routes.runs import run_or_none
from services.media.peaks import PeaksError, cached_peaks
from services.text.selection import MAX_SEGMENTS

bp = Blueprint("segments", __name__)
LARGEST_SECONDS = 1e7     # about 115 days: anything larger is not a time in a recording


def _pipeline():
    return current_app.extensions["pipeline"]


def _is_seconds(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and abs(value) < LARGEST_SECONDS and math.isfinite(value))


def parse_selection(body):
    """(segments, accept_warnings) from the posted JSON, or (None, error response)."""
    if not isinstance(body, dict):
        return None, api_error(400, "invalid_body", 'Send a JSON object: {"segments": [{"start": '
                               'seconds, "end": seconds}, ...]}.', "body")
    items = body.get("segments")
    if not isinstance(items, list):
        return None, api_error(400, "invalid_selection",
                               "segments must be a list of {start, end} objects.", "segments")
    if len(items) > MAX_SEGMENTS:
        return None, api_error(400, "too_many_segments", f"At most {MAX_SEGMENTS} segments.",
                               "segments")
    segments = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not all(_is_seconds(item.get(key)) for key in ("start", "end")):
            return None, api_error(400, "invalid_segment", f"Segment {number}: start and end "
                                   "must be numbers of seconds.", f"segments[{number - 1}]")
        segments.append({"start": float(item["start"]), "end": float(item["end"])})
    accept = body.get("accept_warnings", False)
    if not isinstance(accept, bool):
        return None, api_error(400, "invalid_accept_warnings", "accept_warnings must be true or "
                               "false.", "accept_warnings")
    return (segments, accept), None


@bp.get("/runs/<run_id:session_id>/segments")
def page(session_id):
    """The review page: waveform, transcript and segment list (read-only unless the run waits)."""
    run = run_or_none(session_id)
    if run is None:
        abort(404, "There is no run with this id.")
    return render_template("runs/segments.html", run=run,
                           awaiting=run.state == "awaiting_selection")


@bp.get("/api/runs/<run_id:session_id>/segments")
def data(session_id):
    """What the page edits: the selection, the proposal, sentences, words, chapters and bounds."""
    found = _pipeline().review_data(session_id)
    if found is None:
        return unknown_run()
    return jsonify({key: value for key, value in found.items() if key != "wav"})


@bp.get("/api/runs/<run_id:session_id>/peaks")
def peaks(session_id):
    """Waveform peaks of the episode's audio.wav, computed here so long audio loads at once."""
    run = run_or_none(session_id)
    if run is None:
        return unknown_run()
    wav = Path(_pipeline().episodes_root) / run.episode_dir / "audio.wav"
    try:
        return jsonify(cached_peaks(wav))
    except FileNotFoundError:
        return api_error(404, "no_audio", "This run has no audio.wav to draw.", "session_id")
    except (PeaksError, OSError) as exc:
        current_app.logger.warning("Peaks of %s could not be read", wav, exc_info=exc)
        return api_error(404, "unreadable_audio", f"The audio could not be read: {exc}",
                         "session_id")


@bp.post("/runs/<run_id(api=True):session_id>/segments")
def confirm(session_id):
    """Store the selection sent by the page and continue the run; JSON in, JSON out."""
    if run_or_none(session_id) is None:
        return unknown_run()
    try:
        body = request.get_json(silent=True)
    except RecursionError:   # nesting deeper than the JSON parser follows
        body = None
    parsed, error = parse_selection(body)
    if error is not None:
        return error
    segments, accept = parsed
    try:
        answer = _pipeline().confirm_selection(session_id, segments, accept_warnings=accept)
    except SelectionError as exc:
        response = jsonify({"error": {"code": exc.code, "message": exc.message, "field": exc.field},
                            "warnings": exc.warnings})
        response.status_code = exc.status
        return response
    if answer is None:
        return unknown_run()
    return jsonify(answer)
