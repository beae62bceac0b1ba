"""Run events: numbered 1, 2, 3 ... per run, stored, then handed to listeners, in one order."""
import logging
import threading
import time
import weakref
from datetime import datetime, timezone

PROGRESS = "pipeline_progress"
UPDATE = "pipeline_update"
TRANSITION = "pipeline_transition"
ERROR = "pipeline_error"
COMPLETION = "pipeline_completion"
LOG = "log_stream"
SNAPSHOT = "pipeline_snapshot"
BATCH_SNAPSHOT = "batch_snapshot"       # a batch's events, numbered by their own seq
BATCH_PROGRESS = "batch_progress"
BATCH_ENTRY = "batch_entry"
BATCH_COMPLETION = "batch_completion"
SEQ_RETRIES = 5
RETRY_SECONDS = 0.2


def utc_timestamp():
    """Now as an ISO-8601 UTC string with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventRecorder:
    """Gives each run event its `seq`, stores it and passes it on, atomically per run.

    `store` needs `append_event(session_id, seq, kind, event)` (or `append_events(session_id,
    [(kind, event), ...])`, one transaction) and `last_seq(session_id)`; each listener is called
    as `listener(kind, event)` while the run's lock is held, so a subscriber that takes the same
    lock (`locked`) sees no event twice and misses none.

    Log lines (`emit_log`) are queued and recorded by a writer thread, many in one transaction,
    or earlier by the run's next other event: a stage that logs thousands of lines a second
    is not held up by the database or the sockets, and every line still gets its own `seq`, in
    order.
    """

    def __init__(self, store, listeners=(), key="session_id"):
        self.store = store
        self.key = key   # the field naming whose event it is (a batch's events: "batch_id")
        self.listeners = list(listeners)
        self._seqs = {}
        # A run's lock lives as long as someone holds it (its controller, a subscriber): a
        # finished run leaves nothing behind, and a lock in use is never replaced.
        self._locks = weakref.WeakValueDictionary()
        self._guard = threading.Lock()
        self._lines = {}                       # session_id -> queued log payloads
        self._lines_ready = threading.Condition()
        self._writer = None

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
        """Number, store and broadcast one event (after the run's queued log lines); returns
        the event as sent."""
        return self.emit_together(session_id, [(kind, payload)])[-1]

    def emit_together(self, session_id, items):
        """Number, store (one transaction) and broadcast (kind, payload) items back to back,
        after the run's queued log lines: no other event of the run comes between them (a
        `pipeline_progress` and its `pipeline_update`). Returns the events as sent."""
        with self.locked(session_id):
            lines = self._take_lines(session_id)
            try:
                return self._record(session_id, [(LOG, line) for line in lines]
                                    + list(items))[len(lines):]
            except Exception:
                self._put_back(session_id, lines)
                raise

    def emit_log(self, session_id, payload):
        """Queue one `log_stream` line of a run; it is recorded within moments, in order."""
        with self._lines_ready:
            self._lines.setdefault(session_id, []).append(payload)
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_lines, name="log-writer",
                                                daemon=True)
                self._writer.start()
            self._lines_ready.notify()

    def flush(self, session_id):
        """Record the run's queued log lines now."""
        with self.locked(session_id):
            lines = self._take_lines(session_id)
            if not lines:
                return
            try:
                self._record(session_id, [(LOG, line) for line in lines])
            except Exception:
                self._put_back(session_id, lines)
                raise

    def _take_lines(self, session_id):
        with self._lines_ready:
            return self._lines.pop(session_id, [])

    def _put_back(self, session_id, lines):
        """Queue lines that could not be recorded again, ahead of the newer ones."""
        if lines:
            with self._lines_ready:
                self._lines[session_id] = lines + self._lines.get(session_id, [])

    def _write_lines(self):
        while True:
            with self._lines_ready:
                while not self._lines:
                    self._lines_ready.wait()
                waiting = list(self._lines)
            for session_id in waiting:
                try:
                    self.flush(session_id)
                except Exception:   # the database busy: the lines wait for the next round
                    logging.getLogger(__name__).warning("Log lines of run %s could not be "
                                                        "recorded yet", session_id, exc_info=True)
                    time.sleep(RETRY_SECONDS)

    def _record(self, session_id, items):
        """Number, store (one transaction) and broadcast (kind, payload) items; called with
        the run's lock held. Returns the events as sent."""
        seq = self._seqs.get(session_id)
        if seq is None:
            seq = self.store.last_seq(session_id)
        stamp = utc_timestamp()
        for _ in range(SEQ_RETRIES):
            sent = [(kind, dict(payload, **{self.key: session_id}, seq=seq + number,
                                timestamp=stamp))
                    for number, (kind, payload) in enumerate(items, start=1)]
            if self._store(session_id, sent):
                break
            seq = self.store.last_seq(session_id)   # another process stored this seq first
        else:
            raise RuntimeError(f"no free seq for run {session_id}")
        self._seqs[session_id] = sent[-1][1]["seq"]
        for kind, event in sent:
            for listener in self.listeners:
                listener(kind, event)
        return [event for _kind, event in sent]

    def _store(self, session_id, sent):
        many = getattr(self.store, "append_events", None)
        if many is not None:
            return many(session_id, sent) is not False
        return all(self.store.append_event(session_id, event["seq"], kind, event) is not False
                   for kind, event in sent)

    def forget(self, session_id):
        """Record what is queued and drop the in-memory counter of a finished run (the store
        keeps its events)."""
        self.flush(session_id)
        with self._guard:
            self._seqs.pop(session_id, None)
