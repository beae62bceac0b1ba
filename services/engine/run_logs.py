"""Which run a thread is working for, so log records can be streamed to that run."""
import threading
from contextlib import contextmanager

_sessions = {}
_lock = threading.Lock()


@contextmanager
def bound_to_run(session_id):
    """Mark the current thread as working for `session_id` while the block runs."""
    ident = threading.get_ident()
    with _lock:
        previous = _sessions.get(ident)
        _sessions[ident] = session_id
    try:
        yield
    finally:
        with _lock:
            if previous is None:
                _sessions.pop(ident, None)
            else:
                _sessions[ident] = previous


def current_run():
    """The session_id the current thread works for, or None."""
    return _sessions.get(threading.get_ident())


def start_thread(target, *args, name=None):
    """Start a daemon thread that stays bound to the caller's run (for reader threads)."""
    session_id = current_run()

    def bound_target():
        if session_id is None:
            target(*args)
            return
        with bound_to_run(session_id):
            target(*args)

    thread = threading.Thread(target=bound_target, name=name, daemon=True)
    thread.start()
    return thread
