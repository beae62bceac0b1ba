"""Batches: the list, one batch's live page, its snapshot and events, Cancel all and Retry
failed."""
from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from routes.errors import prefers_html, unknown_batch
from routes.pipeline import events_answer
from routes.runs import page_number
from services.batches import FINAL_BATCH_STATES
from storage.models import iso

bp = Blueprint("batches", __name__)


def _batches():
    return current_app.extensions["batches"]


@bp.get("/batches")
def index():
    """The batches, newest first (JSON with ?format=json or an Accept of application/json)."""
    if request.args.get("format") == "json" or request.accept_mimetypes.best == "application/json":
        return api_index()
    rows, page, pages, total = _batches().store.page(page_number())
    return render_template("batches/index.html", batches=rows, page=page, pages=pages,
                           total=total)


@bp.get("/api/batches")
def api_index():
    """The batches as JSON, newest first."""
    rows, page, pages, total = _batches().store.page(page_number())
    return jsonify({"batches": [dict(row, created_at=iso(row["created_at"])) for row in rows],
                    "page": page, "pages": pages, "total": total})


@bp.get("/batches/<batch_id:batch_id>")
def detail(batch_id):
    """One batch, live: every entry's state, stage and percentage, and the whole batch's."""
    snapshot = _batches().snapshot(batch_id)
    if snapshot is None:
        abort(404, "There is no batch with this id.")
    return render_template("batches/detail.html", batch=snapshot,
                           finished=snapshot["state"] in FINAL_BATCH_STATES)


@bp.get("/api/batches/<batch_id:batch_id>")
def snapshot(batch_id):
    """The batch snapshot."""
    found = _batches().snapshot(batch_id)
    return jsonify(found) if found is not None else unknown_batch()


@bp.get("/api/batches/<batch_id:batch_id>/events")
def batch_events(batch_id):
    """Every stored batch event with seq > since, in order."""
    store = _batches().store
    return events_answer(
        "batch_id", batch_id, lambda: store.has_batch(batch_id), store.events_since, unknown_batch)


def _answer(batch_id, body):
    if not request.is_json and prefers_html():
        return redirect(url_for("batches.detail", batch_id=batch_id), code=303)
    return jsonify(dict(body, batch_id=batch_id))


@bp.post("/api/batches/<batch_id:batch_id>/cancel")
def cancel_all(batch_id):
    """Cancel every run of the batch that has not ended."""
    count = _batches().cancel_all(batch_id)
    if count is None:
        return unknown_batch()
    return _answer(batch_id, {"status": "cancelling" if count else "not_running",
                              "cancelled": count})


@bp.post("/api/batches/<batch_id:batch_id>/retry")
def retry_failed(batch_id):
    """Run the failed, interrupted and cancelled entries again from their last completed stage."""
    resumed = _batches().retry_failed(batch_id)
    if resumed is None:
        return unknown_batch()
    return _answer(batch_id, {"status": "retrying" if resumed else "nothing_to_retry",
                              "session_ids": resumed})
