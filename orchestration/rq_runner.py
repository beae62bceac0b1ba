"""Runs on RQ workers (`runner: rq`), as the dashboard's process sees them.

The database holds the queue (runs in state `queued`, oldest first); Redis holds the run slots
(services/engine/run_board.py). A run is handed to RQ only when it gets one of the
`max_concurrent_runs` slots, counted across every worker, so queue positions and the limit mean
what they mean with the thread runner. A worker claims the run (queued → running) before it
starts; a cancel of a run no worker has claimed yet ends it here.
"""
import logging
import threading
import uuid

from services.engine.lifecycle import RunLifecycle
from services.engine.run_board import QUEUE_NAME, RunBoard, connect

log = logging.getLogger("pipeline")

JOB_FUNCTION = "orchestration.rq_worker.execute_run"
WATCH_SECONDS = 1.0
KEEP_RESULTS_SECONDS = 3600


def session_of(job_id):
    """The session id in a job id made by `dispatch` (`<session_id>-<suffix>`)."""
    return str(job_id or "").split("-", 1)[0]


class RqRunner:
    """Hands queued runs to RQ within the slot limit, cancels them, and notices lost workers
    (the runner interface of services/engine/runner.py).

    `on_lost(session_id)` marks a run whose worker stopped answering as interrupted.
    """

    def __init__(self, store, recorder, settings, on_lost=None, redis=None):
        from rq import Queue

        self.store = store
        self.recorder = recorder
        self.lifecycle = RunLifecycle(store, recorder)
        self.max_concurrent = max(1, int(settings["max_concurrent_runs"]))
        self.redis = redis or connect(settings["redis_url"])
        self.board = RunBoard(self.redis)
        self.queue = Queue(QUEUE_NAME, connection=self.redis)
        self.on_lost = on_lost
        self._stop = threading.Event()
        self._watcher = None

    # --- the runner interface (services/engine/runner.py) -----------------------------------
    def submit(self, spec):
        """The run is stored as queued; hand out the free slots. "started" when it got one."""
        return "started" if spec.session_id in self.dispatch() else "queued"

    def queued_count(self):
        return len(self.store.live_runs("queued"))

    def find_active(self, url, stages):
        for session_id, run_url, run_stages, _folder, state in self.store.live_runs("queued",
                                                                                      "running"):
            if run_url == url and list(run_stages) == list(stages):
                holds = state == "running" or session_id in self.board.slots()
                return session_id, "started" if holds else "queued"
        return None

    @staticmethod
    def controller(_session_id):
        """No run executes in this process."""
        return None

    def live_progress(self, session_id, state):
        """The last progress a worker sent for a running run."""
        return self.store.last_progress(session_id) if state == "running" else None

    def _waiting(self):
        """The queued runs without a slot, in queue order, and the slot holders' folders."""
        holders = self.board.slots()
        rows = self.store.live_runs("queued", "running")
        folders = {row[0]: row[3] for row in rows if row[0] in holders or row[4] == "running"}
        waiting = [row for row in rows if row[4] == "queued" and row[0] not in holders]
        return waiting, folders, holders

    def queue_position(self, session_id):
        waiting, _folders, _holders = self._waiting()
        return next((place for place, row in enumerate(waiting, start=1)
                     if row[0] == session_id), None)

    def queue_reason(self, session_id):
        waiting, folders, holders = self._waiting()
        row = next((row for row in waiting if row[0] == session_id), None)
        if row is None:
            if session_id in holders and not self.board.alive(session_id):
                return "handed to the workers; waiting for a free worker to start it"
            return None
        user = next((other for other, folder in folders.items() if folder == row[3]), None)
        if user is not None:
            return (f"waiting for run {user[:8]}, which works in the same episode folder "
                    f"({row[3]})")
        return "waiting for a free slot"

    def cancel(self, session_id):
        """"cancelled" for a run no worker has started, "cancelling" for one that runs (the
        worker sees the request within a tenth of a second), None when it is not live."""
        if self.lifecycle.cancel_queued(session_id):
            self._drop_job(session_id)
            self.dispatch()
            return "cancelled"
        if not any(row[0] == session_id for row in self.store.live_runs("running")):
            return None
        self.board.ask_cancel(session_id)
        self._stop_job(session_id)
        return "cancelling"

    def wait_idle(self, timeout=None):
        """Runs end on the workers: nothing to wait for here."""

    # --- slots and jobs --------------------------------------------------------------------
    def dispatch(self):
        """Give free slots to queued runs in order (one episode folder at a time); returns
        the session ids handed to RQ."""
        with self.board.dispatch_lock():
            return self._dispatch()

    def _dispatch(self):
        rows = self.store.live_runs("queued", "running")
        live = {row[0] for row in rows}
        holders = self.board.slots()
        for stale in holders - live:   # a slot whose release was lost with its worker
            self.board.release_slot(stale)
        holders = (holders & live) | {row[0] for row in rows if row[4] == "running"}
        busy = {row[3] for row in rows if row[0] in holders}
        handed = []
        for session_id, _url, _stages, folder, state in rows:
            if len(holders) >= self.max_concurrent:
                break
            if state != "queued" or session_id in holders or folder in busy:
                continue
            job_id = f"{session_id}-{uuid.uuid4().hex[:8]}"
            self.board.take_slot(session_id, job_id)
            self.queue.enqueue(JOB_FUNCTION, session_id, job_id=job_id, job_timeout=-1,
                               result_ttl=KEEP_RESULTS_SECONDS,
                               failure_ttl=KEEP_RESULTS_SECONDS,
                               description=f"pipeline run {session_id}")
            holders.add(session_id)
            busy.add(folder)
            handed.append(session_id)
        return handed

    def _drop_job(self, session_id):
        """Take back the slot of a run that never started, and its job from the RQ queue."""
        from rq.job import Job

        job_id = self.board.job_id(session_id)
        self.board.release_slot(session_id)
        if job_id:
            try:
                Job.fetch(job_id, connection=self.redis).cancel()
            except Exception:   # already taken, finished or expired: the claim decides
                log.debug("RQ job %s could not be cancelled", job_id, exc_info=True)

    def _stop_job(self, session_id):
        """RQ's stop-job command, which the worker turns into the run's cancel."""
        from rq.command import send_stop_job_command

        job_id = self.board.job_id(session_id)
        if job_id:
            try:
                send_stop_job_command(self.redis, job_id)
            except Exception:   # not executing yet or any more: the cancel flag covers it
                log.debug("RQ stop-job for %s not sent", job_id, exc_info=True)

    # --- lost workers ----------------------------------------------------------------------
    def start_watching(self):
        """A thread that, every second, marks runs whose worker went quiet as interrupted
        and hands out the slots that came free."""
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch, name="rq-watch", daemon=True)
            self._watcher.start()

    def stop_watching(self):
        self._stop.set()

    def _watch(self):
        while not self._stop.wait(WATCH_SECONDS):
            try:
                self.check()
            except Exception:   # Redis or the database away for a moment: try again
                log.warning("Checking the workers' runs failed", exc_info=True)

    def check(self):
        """One round of the watch: lost runs become interrupted; free slots are handed out."""
        with self.board.dispatch_lock():
            for session_id, *_rest in self.store.live_runs("running"):
                if self.board.alive(session_id) is None:
                    log.warning("Run %s lost its worker; it is interrupted", session_id[:8])
                    self.board.release_slot(session_id)
                    if self.on_lost is not None:
                        self.on_lost(session_id)
            self._dispatch()
