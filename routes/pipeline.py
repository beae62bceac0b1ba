"""Starting, cancelling and watching runs over HTTP."""
from flask import Blueprint, current_app, jsonify, redirect, request, url_for

from orchestration.batches import batch_kind
from orchestration.pipeline import QueueFull, ResumeRefused
from routes.errors import api_error, prefers_html
from services.input_checks import ValidationError

bp = Blueprint("pipeline", __name__)
OVERRIDE_PREFIX = "opt_"   # form fields that override one preset field for one run


def _pipeline():
    return current_app.extensions["pipeline"]


def _request_data():
    """The body as a dict (JSON object or form), or an error response."""
    if request.is_json:
        data = request.get_json(silent=True)
        if data is None:
            return None, api_error(400, "invalid_json", "The body is not valid JSON.", "body")
        if not isinstance(data, dict):
            return None, api_error(400, "invalid_body", "The body must be a JSON object.", "body")
        return data, None
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        data = {key: request.form.get(key) for key in request.form}
        stages = request.form.getlist("selected_stages")
        data["selected_stages"] = stages if len(stages) != 1 else stages[0]
        data["options"] = {key[len(OVERRIDE_PREFIX):]: value for key, value in request.form.items()
                           if key.startswith(OVERRIDE_PREFIX) and value != ""}
        upload = request.files.get("url_file")
        if upload is not None and (upload.filename or "").strip():
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                return None, api_error(400, "invalid_list", "The URL list file must be UTF-8 "
                                       "text, one URL a line.", "url_file")
            data["url_file"] = (upload.filename[:120], text)
        return data, None
    return None, api_error(415, "unsupported_media_type",
                           "Send JSON (application/json) or a form.", "body")


def events_answer(key, owner_id, known, events_since, unknown):
    """The answer of an events route: `{key: owner_id, "events": [...]}` with every stored
    event whose seq > `since`; 400 for a bad `since`, `unknown()` when `known()` is false."""
    text = request.args.get("since", "0")
    # isascii(): str.isdigit() also takes "²", which int() refuses
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        return api_error(400, "invalid_since", "since must be a whole number, 0 or more.", "since")
    if not known():
        return unknown()
    stored = events_since(owner_id, int(text))
    return jsonify({key: owner_id,
                    "events": [{"event": kind, "data": event} for kind, event in stored]})


def _from_browser_form():
    return not request.is_json and prefers_html()


@bp.post("/pipeline/execute")
def execute():
    """Start (or queue) a run → 202 {"status", "session_id", "monitoring_enabled"}."""
    data, error = _request_data()
    if error is not None:
        return error
    try:
        kind = batch_kind(data)
        started = current_app.extensions["batches"].submit(kind, data) if kind else None
        if started is not None:
            return _batch_started(*started)
        status, session_id, duplicate = _pipeline().start(data)
    except (ValidationError, QueueFull) as exc:
        code, http_status = (("queue_full", 429) if isinstance(exc, QueueFull)
                             else (exc.code, exc.status))
        error = exc if isinstance(exc, ValidationError) else ValidationError(None, str(exc), code)
        if _from_browser_form():
            from routes.dashboard import render_dashboard

            return render_dashboard(form=data, error=error), http_status
        return api_error(http_status, code, error.message, error.field)
    if _from_browser_form():
        return redirect(url_for("dashboard.index", session=session_id), code=303)
    return jsonify({"status": status, "session_id": session_id, "monitoring_enabled": True,
                    "duplicate": duplicate}), 202


def _batch_started(status, batch_id, session_ids):
    if _from_browser_form():
        return redirect(url_for("batches.detail", batch_id=batch_id), code=303)
    return jsonify({"status": status, "batch_id": batch_id, "session_ids": session_ids,
                    "monitoring_enabled": True}), 202


@bp.post("/api/pipeline/resume/<run_id:session_id>")
def resume(session_id):
    """Resume an interrupted, failed or cancelled run from its last completed stage."""
    try:
        status = _pipeline().resume(session_id)
    except ResumeRefused as exc:
        return api_error(409, "not_resumable", str(exc), "session_id")
    if status is None:
        return api_error(404, "unknown_run", "There is no run with this session_id.", "session_id")
    if _from_browser_form():
        return redirect(url_for("dashboard.index", session=session_id), code=303)
    return jsonify({"status": status, "session_id": session_id, "monitoring_enabled": True}), 202


@bp.post("/api/pipeline/reselect/<run_id:session_id>")
def reselect(session_id):
    """A new run that reuses stages 1-4 and waits for a new segment selection, then 5-7."""
    try:
        result = _pipeline().reselect(session_id)
    except ResumeRefused as exc:
        return api_error(409, "no_selection", str(exc), "session_id")
    except QueueFull as exc:
        return api_error(429, "queue_full", str(exc), None)
    if result is None:
        return api_error(404, "unknown_run", "There is no run with this session_id.", "session_id")
    status, new_id = result
    if _from_browser_form():
        return redirect(url_for("dashboard.index", session=new_id), code=303)
    return jsonify({"status": status, "session_id": new_id, "monitoring_enabled": True}), 202


def _cancel(session_id):
    status = _pipeline().cancel(session_id)
    if status is None:
        return api_error(404, "unknown_run", "There is no run with this session_id.", "session_id")
    return jsonify({"status": status, "session_id": session_id})


@bp.post("/pipeline/interrupt/<run_id:session_id>")
def interrupt(session_id):
    """Cancel a run (idempotent)."""
    return _cancel(session_id)


@bp.post("/api/pipeline/cancel/<run_id:session_id>")
def cancel(session_id):
    """Cancel a run (idempotent); the same as the interrupt route."""
    return _cancel(session_id)


@bp.get("/api/pipeline/status/<run_id:session_id>")
def status(session_id):
    """The run's status snapshot."""
    snapshot = _pipeline().snapshot(session_id)
    if snapshot is None:
        return api_error(404, "unknown_run", "There is no run with this session_id.", "session_id")
    return jsonify(snapshot)


@bp.get("/api/pipeline/events/<run_id:session_id>")
def events(session_id):
    """Every stored event with seq > since, in order (polling fallback and replay)."""
    store = _pipeline().store
    return events_answer(
        "session_id", session_id,
        lambda: store.has_run(session_id),
        store.events_since,
        lambda: api_error(404, "unknown_run", "There is no run with this session_id.",
                          "session_id"))
