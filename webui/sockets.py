"""Socket.IO handlers (default namespace): subscribe with replay, unsubscribe, cancel, ping."""
import logging
import math
import time

from flask import current_app, request
from flask_socketio import ConnectionRefusedError, emit, join_room, leave_room

from services.engine import events
from services.engine.events import utc_timestamp
from storage.models import BATCH_ID_LENGTH, SESSION_ID_LENGTH
from webui.access import configured_token, session_authorized, token_matches
from webui.hosts import host_allowed

log = logging.getLogger(__name__)
REQUEST_ERROR = "request_error"


def room_for(session_id):
    """The Socket.IO room that receives a run's live events."""
    return f"run:{session_id}"


def batch_room(batch_id):
    """The Socket.IO room that receives a batch's events."""
    return f"batch:{batch_id}"


def _error(code, message, field=None, **extra):
    emit(REQUEST_ERROR, {"error": {"code": code, "message": message, "field": field}, **extra})


def _session_id(data, key="session_id", length=SESSION_ID_LENGTH, what="a run's id"):
    """The `session_id` (or other `key`) of a message, or None after answering with an error."""
    if not isinstance(data, dict):
        _error("invalid_message", f"Send an object such as {{\"{key}\": \"...\"}}.")
        return None
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > length:
        _error(f"invalid_{key}", f"{key} must be {what}.", key)
        return None
    return value


def _subscription(data, key="session_id", length=SESSION_ID_LENGTH, what="a run's id"):
    """(id, last_seq) of a subscribe message (last_seq 0 when absent), or None after an error."""
    owner = _session_id(data, key, length, what)
    if owner is None:
        return None
    last_seq = _last_seq(data, **{key: owner})
    return None if last_seq is None else (owner, last_seq)


def _last_seq(data, **ids):
    """The `last_seq` of a subscribe message (0 when absent), or None after an error."""
    last_seq = data.get("last_seq", 0)
    if last_seq is None:
        last_seq = 0
    # SQLite integers are 64-bit: a larger last_seq would end in an OverflowError.
    if (isinstance(last_seq, bool) or not isinstance(last_seq, int)
            or not 0 <= last_seq < 2 ** 63):
        _error("invalid_last_seq", "last_seq must be a whole number, 0 or more.", "last_seq",
               **ids)
        return None
    return last_seq


def _connect(auth=None):
    """Refuse a connection from an unknown host, or without the access token when one is set."""
    if not host_allowed(request.headers.get("Host"), current_app.extensions["allowed_hosts"]):
        raise ConnectionRefusedError("unknown host")   # DNS rebinding (webui/hosts.py)
    if not configured_token():
        return True
    sent = auth.get("token") if isinstance(auth, dict) else None
    if session_authorized() or token_matches(sent) or token_matches(request.args.get("token")):
        return True
    raise ConnectionRefusedError("unauthorized")


def _replay_from_workers(pipeline, session_id, last_seq):
    """Join the run's room, then send every stored event after `last_seq` (runner: rq)."""
    # Events come from worker processes, which this process's run lock does not order: join
    # the room first, then replay everything stored after last_seq. An event may then come
    # twice or ahead of the replay; clients keep one per seq, in seq order, and fetch a gap
    # from /api/pipeline/events (static/js/live-client.js).
    join_room(room_for(session_id))
    for kind, event in pipeline.store.events_since(session_id, last_seq):
        emit(kind, event)


def _replay_in_process(pipeline, session_id, last_seq, known):
    """Send the stored events after `last_seq`, then join the run's room under its lock."""
    # The stored events up to the snapshot are sent without the run's lock, so a long replay
    # never holds up the run; the lock is taken only to send what came since and to join the
    # room, so no event is missed or sent twice.
    for kind, event in pipeline.store.events_since(session_id, last_seq, until=known):
        emit(kind, event)
    with pipeline.recorder.locked(session_id):
        for kind, event in pipeline.store.events_since(session_id, max(last_seq, known)):
            emit(kind, event)
        join_room(room_for(session_id))


def _subscribe(data=None):
    """Send a run's snapshot and the events after `last_seq`, then its live events."""
    subscription = _subscription(data)
    if subscription is None:
        return
    session_id, last_seq = subscription
    pipeline = current_app.extensions["pipeline"]
    snapshot = pipeline.snapshot(session_id)   # None for an unknown run: no lock is made
    if snapshot is None:
        _error("unknown_run", "There is no run with this session_id.", "session_id",
               session_id=session_id)
        return
    emit(events.SNAPSHOT, snapshot)
    if pipeline.rq is not None:
        _replay_from_workers(pipeline, session_id, last_seq)
    else:
        _replay_in_process(pipeline, session_id, last_seq, snapshot["last_seq"])


def _unsubscribe(data=None):
    """Stop sending a run's live events to this client."""
    session_id = _session_id(data)
    if session_id is not None:
        leave_room(room_for(session_id))


def _cancel(data=None):
    """Cancel a run and answer with its status."""
    session_id = _session_id(data)
    if session_id is None:
        return
    status = current_app.extensions["pipeline"].cancel(session_id)
    if status is None:
        _error("unknown_run", "There is no run with this session_id.", "session_id",
               session_id=session_id)
        return
    emit("cancel_result", {"session_id": session_id, "status": status})


def _ping(data=None):
    """Answer with the client's `t` (when it is plain JSON) and the server's time."""
    sent = data.get("t") if isinstance(data, dict) else None
    if isinstance(sent, bool) or not isinstance(sent, (int, float, str, type(None))):
        sent = None
    elif isinstance(sent, float) and not math.isfinite(sent):
        sent = None   # NaN and infinities are not JSON a browser can read
    emit("pong", {"t": sent, "server_time": utc_timestamp(), "server_epoch": time.time()})


def _on_error(exc):
    """Log a handler's failure and tell the client the message was not handled."""
    log.error("Socket.IO handler failed", exc_info=exc)
    _error("server_error", "The message could not be handled.")


def register_handlers(socketio):
    """Attach the handlers to `socketio` and broadcast recorded events to run rooms."""

    def broadcast(kind, event):
        socketio.emit(kind, event, to=room_for(event["session_id"]))

    socketio.on("connect")(_connect)
    socketio.on("subscribe")(_subscribe)
    socketio.on("unsubscribe")(_unsubscribe)
    socketio.on("cancel")(_cancel)
    socketio.on("ping")(_ping)
    socketio.on_error_default(_on_error)
    return broadcast


def register_batch_handlers(socketio):
    """Attach `subscribe_batch` / `unsubscribe_batch`; returns the listener that sends batch
    events to their batch's room."""

    def broadcast(kind, event):
        socketio.emit(kind, event, to=batch_room(event["batch_id"]))

    @socketio.on("subscribe_batch")
    def subscribe_batch(data=None):
        subscription = _subscription(data, "batch_id", BATCH_ID_LENGTH, "a batch's id")
        if subscription is None:
            return
        batch_id, last_seq = subscription
        batches = current_app.extensions["batches"]
        if not batches.store.has_batch(batch_id):
            _error("unknown_batch", "There is no batch with this batch_id.", "batch_id",
                   batch_id=batch_id)
            return
        # Batch events are sent by one thread under the batch's lock: snapshot, replay and
        # joining the room under that lock miss nothing and repeat nothing.
        with batches.recorder.locked(batch_id):
            emit(events.BATCH_SNAPSHOT, batches.snapshot(batch_id))
            for kind, event in batches.store.events_since(batch_id, last_seq):
                emit(kind, event)
            join_room(batch_room(batch_id))

    @socketio.on("unsubscribe_batch")
    def unsubscribe_batch(data=None):
        batch_id = _session_id(data, "batch_id", BATCH_ID_LENGTH, "a batch's id")
        if batch_id is not None:
            leave_room(batch_room(batch_id))

    return broadcast
