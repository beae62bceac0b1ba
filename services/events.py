"""Run events: numbered 1, 2, 3 ... per run, stored, then handed to listeners, in one order."""
import threading
import weakref
from datetime import datetime, timezone

PROGRESS = "pipeline_progress"
UPDATE = "pipeline_update"
TRANSITION = "pipeline_transition"
ERROR = "pipeline_error"
COMPLETION = "pipeline_completion"
LOG = "log_stream"
SNAPSHOT = "pipeline_snapshot"
SEQ_RETRIES = 5


def utc_timestamp():
    """Now as an ISO-8601 UTC string with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventRecorder:
    """Gives each run event its `seq`, stores it and passes it on, atomically per run.

    `store` needs `append_event(session_id, seq, kind, event)` and `last_seq(session_id)`;
    each listener is called as `listener(kind, event)` while the run's lock is held, so a
    subscriber that takes the same lock (`locked`) sees no event twice and misses none.
    """

    def __init__(self, store, listeners=()):
        self.store = store
        self.listeners = list(listeners)
        self._seqs = {}
        # A run's lock lives as long as someone holds it (its controller, a subscriber): a
        # finished run leaves nothing behind, and a lock in use is never replaced.
        self._locks = weakref.WeakValueDictionary()
        self._guard = threading.Lock()

    def add_listener(self, listener):
        """Call `listener(kind, event)` for every event recorded from now on."""
        self.listeners.append(listener)

    def locked(self, session_id):
        """The lock that orders this run's events (a context manager)."""
        with self._guard:
            lock = self._locks.get(session_id)
            if lock is None:
                lock = self._locks[session_id] = threading.RLock()
            return lock

    def emit(self, session_id, kind, payload):
        """Number, store and broadcast one event; returns the event as sent."""
        with self.locked(session_id):
            seq = self._seqs.get(session_id)
            if seq is None:
                seq = self.store.last_seq(session_id)
            seq += 1
            event = dict(payload, session_id=session_id, seq=seq, timestamp=utc_timestamp())
            for _ in range(SEQ_RETRIES):
                if self.store.append_event(session_id, seq, kind, event) is not False:
                    break
                # Another process (a worker, the web server) stored this seq first.
                seq = self.store.last_seq(session_id) + 1
                event["seq"] = seq
            else:
                raise RuntimeError(f"no free seq for run {session_id}")
            self._seqs[session_id] = seq
            for listener in self.listeners:
                listener(kind, event)
            return event

    def forget(self, session_id):
        """Drop the in-memory counter of a finished run (the store keeps its events)."""
        with self._guard:
            self._seqs.pop(session_id, None)
