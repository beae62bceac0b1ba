"""Every change of a run's state, and the standard event each change emits, in one place.

    queue ─▶ queued ─claim─▶ running ─finish─▶ completed | failed | cancelled
               │               ├─await_selection─▶ awaiting_selection ─continue_run─▶ queued
               │               └─interrupt─▶ interrupted      └─cancel_waiting─▶ cancelled
               └─cancel_queued─▶ cancelled
    interrupted | failed | cancelled ─resume─▶ queued (or awaiting_selection again)

The controller, the thread runner, the RQ runner and worker, the Pipeline and the CLI change a
run's state only through `RunLifecycle`. Methods that take a `run` row are called inside the
store's `editing` (or `runs_in`) block that read it, with the run's event lock held.
"""
import logging

from services.engine import events
from services.engine.run_states import DONE_STAGE_STATES, LIVE_STATES, aware, utcnow
from services.stages import get_stage

log = logging.getLogger("pipeline")
WAITING_MESSAGE = "Segments proposed: review them, then Continue"
REVIEW_STAGE = 4


def review_url(session_id):
    """The page where a waiting run's segments are chosen."""
    return f"/runs/{session_id}/segments"


def completion(status, outputs=(), duration=0.0, error=None):
    """The `pipeline_completion` payload of a run that ended with `status`."""
    return {"status": status, "outputs": list(outputs), "duration": round(duration or 0.0, 2),
            "error": error}


def waiting_payload(session_id, title, progress, elapsed):
    """The `pipeline_progress` payload of a run that waits for the user's selection."""
    stage = get_stage(REVIEW_STAGE)
    return {"title": title, "stage": stage.number, "stage_key": stage.key,
            "stage_name": stage.name, "stage_description": stage.description,
            "sub_stage": "Awaiting review", "sub_progress": None, "stage_progress": 100.0,
            "progress": round(progress or 0.0, 2), "status": "awaiting_selection",
            "message": WAITING_MESSAGE, "time_elapsed": round(elapsed or 0.0, 1),
            "estimated_remaining": None, "error": None, "review_url": review_url(session_id)}


def done_stages(run):
    """The stage numbers a stored run has completed (or reused)."""
    return [s.stage for s in run.stage_runs if s.state in DONE_STAGE_STATES]


def _end_wait(run, now):
    """Count the time a run waited for its selection as waited, not working, time."""
    if run.waiting_since is not None:
        run.waited_seconds = (run.waited_seconds or 0.0) + max(
            (now - aware(run.waiting_since)).total_seconds(), 0.0)
        run.waiting_since = None


class RunLifecycle:
    """Changes runs' states in the store and says so in their events."""

    def __init__(self, store, recorder):
        self.store = store
        self.recorder = recorder

    def _pair(self, session_id, payload):
        """`pipeline_progress` and its twin `pipeline_update`, with nothing between them."""
        self.recorder.emit_together(session_id, [(events.PROGRESS, payload),
                                                 (events.UPDATE, payload)])

    # --- queue, claim, start --------------------------------------------------------------
    def queue(self, spec, episode_name, effective, state="queued"):
        """Store a new run, queued (or `running` for a headless run beside RQ workers)."""
        self.store.create_run(spec, episode_name, effective, state=state)

    def claim(self, session_id, worker):
        """A worker takes a queued run (queued -> running); False when it is no longer queued."""
        if not self.store.claim(session_id, "queued", "running"):
            return False
        self.recorder.emit(session_id, events.LOG, {
            "level": "INFO", "logger": "pipeline.worker", "message": f"Run taken by worker {worker}"})
        return True

    def start(self, session_id, first):
        """The run's stages begin (`first`: its first pass, which stamps the start time)."""
        self.store.update_run(session_id, state="running", started=first)

    # --- waiting for a selection ----------------------------------------------------------
    def await_selection(self, session_id, title, progress, elapsed):
        """Stage 4 proposed segments: the run waits for the user's selection."""
        self._pair(session_id, waiting_payload(session_id, title, progress, elapsed))
        self.store.update_run(session_id, state="awaiting_selection", waiting=True,
                              progress=progress)

    def continue_run(self, run):
        """The user confirmed a selection: the waiting run is queued for its later stages."""
        _end_wait(run, utcnow())
        run.state = "queued"
        self.store.save()

    def cancel_waiting(self, run, outputs):
        """A run waiting for a selection is cancelled."""
        now = utcnow()
        _end_wait(run, now)
        run.state, run.finished_at = "cancelled", now
        self.store.save()
        self.recorder.emit(run.session_id, events.COMPLETION,
                           completion("cancelled", outputs, run.duration))
        self.recorder.forget(run.session_id)

    # --- the end ----------------------------------------------------------------------------
    def finish(self, session_id, status, payload, outputs, duration):
        """The run ended: completed, failed or cancelled (`payload`: its last progress). Its
        message is logged before the completion event, which is the run's last."""
        self._pair(session_id, payload)
        self.store.update_run(session_id, state=status, finished=True, error=payload["error"],
                              progress=payload["progress"])
        log.info("%s", payload["message"])
        self.recorder.emit(session_id, events.COMPLETION,
                           completion(status, outputs, duration, payload["error"]))

    def finish_anyway(self, session_id, status, message, duration):
        """After a failure to record the end: a final state with the reason, each step on its
        own, so one more failure cannot leave the run looking live."""
        steps = (
            lambda: self.store.update_run(session_id, state=status, finished=True, error=message),
            lambda: self.recorder.emit(session_id, events.COMPLETION,
                                       completion(status, (), duration, message)),
        )
        for step in steps:
            try:
                step()
            except Exception:
                log.error("Could not record the run's final state", exc_info=True)

    def cancel_queued(self, session_id):
        """A run no one has started is cancelled; False when it is no longer queued."""
        if not self.store.claim(session_id, "queued", "cancelled"):
            return False
        self.store.update_run(session_id, finished=True)
        self.recorder.emit(session_id, events.COMPLETION, completion("cancelled"))
        self.recorder.forget(session_id)
        return True

    def interrupt(self, runs, who):
        """Live runs whose process (`who`) stopped during them become `interrupted`."""
        interrupted = []
        for run in runs:
            if run.state not in LIVE_STATES:
                continue
            stage = next((s for s in run.stage_runs if s.state == "running"), None)
            where = f"stage {stage.stage} ({get_stage(stage.stage).name})" if stage else "a run"
            run.state = "interrupted"
            run.error = f"{who} stopped during {where}; resume the run to finish it."
            run.finished_at = utcnow()
            if stage is not None:
                stage.state = "interrupted"
                stage.finished_at = run.finished_at
            interrupted.append((run.session_id, stage.stage if stage else None, run.error))
        self.store.save()
        for session_id, stage, message in interrupted:
            self.recorder.emit(session_id, events.ERROR, {
                "stage": stage, "error": {"type": "Interrupted", "message": message},
                "recoverable": True})
            self.recorder.forget(session_id)
        return interrupted

    # --- again ------------------------------------------------------------------------------
    def resume(self, run, shown, wait_again):
        """An interrupted, failed or cancelled run goes on from its last completed stage:
        queued, or waiting again for a selection (`wait_again`). `shown` is its last progress
        payload; returns the new state."""
        done = done_stages(run)
        for stage in run.stage_runs:
            if stage.stage not in done:
                stage.state, stage.error, stage.finished_at = "pending", None, None
        # The working time and the progress already shown carry over: the time since it
        # stopped (and a dead server's downtime) is not running time.
        worked = shown.get("time_elapsed")
        if not isinstance(worked, (int, float)) or worked < 0:
            worked = run.duration or 0.0
        if run.started_at is not None:
            run.waited_seconds = max((utcnow() - aware(run.started_at)).total_seconds() - worked,
                                     0.0)
        run.progress = max(run.progress or 0.0, float(shown.get("progress") or 0.0))
        run.error, run.finished_at, run.waiting_since = None, None, None
        if wait_again:
            run.state, run.waiting_since = "awaiting_selection", utcnow()
            self.store.save()
            self.recorder.emit(run.session_id, events.PROGRESS, waiting_payload(
                run.session_id, run.title, run.progress, run.duration))
            self.recorder.forget(run.session_id)
            return "awaiting_selection"
        run.state = "queued"
        self.store.save()
        return "queued"
