"""Runs as the web app, the CLI and the RQ worker start them: checked requests become runs
through one locked start path; resume, continue, reselect, cancel and snapshots.

Every run-state change goes through services/engine/lifecycle.py; every request is checked by
services/run_request.py; the runs execute on a runner (services/engine/runner.py).
"""
import threading
from pathlib import Path

from orchestration import log_stream, review
from orchestration.snapshots import run_snapshot
from services import run_request
from services.assets import exists as asset_exists
from services.engine.checkpoints import list_outputs
from services.engine.context import StageContext
from services.engine.controller import PipelineController
from services.engine.estimation import Estimator, timing_signature
from services.engine.events import EventRecorder
from services.engine.lifecycle import REVIEW_STAGE, RunLifecycle, done_stages
from services.engine.run_spec import RunSpec
from services.engine.run_states import FINISHED_STATES, LIVE_STATES, RESUMABLE_STATES
from services.engine.thread_runner import ThreadRunner
from services.stages import get_stage
from services.text.selection import SelectionError  # noqa: F401 - raised through confirm_selection
from storage import presets as preset_store
from storage.runs import SqlRunStore

DEFAULT_MAX_QUEUED = 100


class QueueFull(Exception):
    """No more runs may wait (limits.max_queued_runs)."""


class ResumeRefused(Exception):
    """A run that cannot be resumed in its state."""


class Pipeline:
    """Starts, cancels and describes runs for one app (stored in `app.extensions["pipeline"]`)."""

    def __init__(self, app, settings, role="web"):
        """`role`: "web" (the dashboard: runs here, or on RQ workers with `runner: rq`),
        "worker" (an RQ worker: one run at a time, here) or "local" (a headless run)."""
        self.app = app
        self.settings = settings
        self.episodes_root = f"{settings['data_dir']}/episodes"
        self.store = SqlRunStore(app)
        self.recorder = EventRecorder(self.store)
        self.lifecycle = RunLifecycle(self.store, self.recorder)
        self.logs = log_stream.install(settings["logging"].get("level", "INFO"))
        self.rq = None
        if settings["runner"] == "rq" and role in ("web", "worker"):
            from orchestration.rq_runner import RqRunner

            self.rq = RqRunner(self.store, self.recorder, settings, on_lost=self.interrupt_lost)
        if self.rq is not None and role == "web":
            self.runner = self.rq
        else:
            self.runner = ThreadRunner(self._make_controller, self.recorder, self.store,
                                       1 if role == "worker" else settings["max_concurrent_runs"])
        self._start_lock = threading.RLock()   # start, resume and continue decide one at a time
        self._presets = run_request.PresetSource(
            by_name=preset_store.by_name,
            names=lambda: [p.name for p in preset_store.all_presets()],
            asset_exists=lambda name: asset_exists(settings["data_dir"], name))

    def _make_controller(self, spec, on_finished):
        def finished(controller):
            self.logs.unroute(spec.session_id)
            on_finished(controller)

        self.logs.route(spec.session_id, self.recorder)
        return PipelineController(spec, self.settings, self.recorder, self.store,
                                  self.estimator_for(spec), on_finished=finished)

    def estimator_for(self, spec):
        """An estimator fed by earlier runs with the same preset and stage parameters (from the
        run's effective settings: its model, beam size, clip settings …); a run of `spec` uses
        it, and batches weigh their entries with it."""
        ctx = StageContext(spec.session_id, spec.url, spec.episode_dir,
                           spec.settings or self.settings, cancel=None, reporter=None)
        signatures = {}
        for number in spec.stages:
            stage = get_stage(number)
            signatures[stage.key] = timing_signature(stage.parameters_for(ctx))
        return Estimator(self.store.stage_history(spec.preset, signatures))

    def settings_of(self, run):
        """The effective settings of a stored run: the configuration with its preset fields
        and its options."""
        return run_request.run_settings(self.settings, run.settings or {}, run.options)

    # --- starting ---------------------------------------------------------------------------
    def check(self, data):
        """A CheckedRun from request data (services/run_request.py), or ValidationError."""
        return run_request.check_run_request(data, self.settings, self.episodes_root,
                                             self._presets)

    def start(self, data):
        """Check and start (or queue) a run; returns (status, session_id, duplicate).

        While a run of the same URL and stages is running or queued, its id is returned instead.
        """
        return self.start_checked(self.check(data))

    def start_checked(self, checked, state="queued"):
        """Start (or queue) a checked run: the duplicate check, the queue limit, storing it and
        handing it to the runner are one step. `state` is "running" only for a headless run
        beside RQ workers (no worker may take it)."""
        spec = checked.spec
        with self._start_lock:
            active = self.runner.find_active(spec.url, spec.stages)
            if active is not None:
                return active[1], active[0], True
            self._check_queue_room()
            self.lifecycle.queue(spec, checked.episode_name, checked.effective, state)
            return self.runner.submit(spec), spec.session_id, False

    def start_many(self, checked_runs):
        """Start (or queue) several checked runs in order, all or none: a list of (status,
        session_id, duplicate); QueueFull when they would not all fit in the queue."""
        with self._start_lock:   # queued together, in order, with nothing between them
            self._check_queue_room(len(checked_runs))
            started = []
            try:
                for checked in checked_runs:
                    started.append(self.start_checked(checked))
            except Exception:
                for _status, session_id, duplicate in started:   # no half batch is left
                    if not duplicate:
                        self.cancel(session_id)
                raise
            return started

    def _check_queue_room(self, count=1):
        limit = self.settings["limits"].get("max_queued_runs")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            limit = DEFAULT_MAX_QUEUED
        waiting = self.runner.queued_count()
        if waiting + count > limit:
            if count == 1:
                raise QueueFull(f"{limit} runs are already waiting; wait for some to finish or "
                                "cancel some before starting more.")
            raise QueueFull(f"These {count} runs do not fit: {waiting} runs already wait and at "
                            f"most {limit} may; choose fewer items, or wait.")

    def _spec_for(self, run):
        """The RunSpec of a stored run, carrying its completed stages and working time."""
        return RunSpec(session_id=run.session_id, url=run.url, stages=list(run.selected_stages),
                       episode_dir=Path(self.episodes_root) / run.episode_dir,
                       options=dict(run.options or {}), preset=run.preset,
                       done_stages=tuple(done_stages(run)), settings=self.settings_of(run),
                       elapsed_before=run.duration or 0.0, progress_floor=run.progress or 0.0,
                       force=(run.options or {}).get(run_request.FORCE) is True)

    def spec_of(self, session_id):
        """The RunSpec of a stored run, carrying its completed stages and working time."""
        with self.store.editing(session_id) as run:
            return self._spec_for(run)

    # --- again --------------------------------------------------------------------------------
    def recover(self):
        """After a restart: runs left running become `interrupted`; queued runs queue again.

        With `runner: rq` the runs belong to the workers: a run is interrupted only when its
        worker stops answering (the watch started here), and the queue is handed out again.
        """
        if self.rq is not None:
            self.rq.start_watching()
            return 0, len(self.rq.dispatch())
        with self.store.runs_in(*LIVE_STATES) as runs:
            interrupted = self.lifecycle.interrupt(runs, "The server")
        with self.store.runs_in("queued") as runs:
            queued = [self._spec_for(run) for run in runs]
        for spec in queued:
            self.runner.submit(spec)
        return len(interrupted), len(queued)

    def interrupt_lost(self, session_id):
        """A run whose RQ worker stopped answering becomes `interrupted` (resumable)."""
        with self.recorder.locked(session_id), self.store.editing(session_id) as run:
            if run is not None:
                self.lifecycle.interrupt([run], "Its worker")

    def resume(self, session_id):
        """Run an interrupted, failed or cancelled run again from its last completed stage.

        A run stopped while it waited for a selection (stage 4 done, not yet confirmed) waits
        again instead.
        """
        if not self.store.has_run(session_id):
            return None
        with self._start_lock, self.recorder.locked(session_id), \
                self.store.editing(session_id) as run:
            if run.state not in RESUMABLE_STATES or self.runner.controller(session_id):
                raise ResumeRefused(f"A {run.state} run cannot be resumed; only interrupted, "
                                    "failed or cancelled runs can.")
            shown = self.store.last_progress(session_id) or {}
            state = self.lifecycle.resume(run, shown, self._waits_for_selection(run))
            if state == "awaiting_selection":
                return state
            return self.runner.submit(self._spec_for(run))

    def _waits_for_selection(self, run):
        if REVIEW_STAGE not in done_stages(run) or not (
                self.settings_of(run).get("segments") or {}).get("review"):
            return False
        return review.review_data(self, run)["status"] != "confirmed"

    def continue_run(self, run):
        """Run the stages after the review (called with the run's lock held)."""
        self.lifecycle.continue_run(run)
        return self.runner.submit(self._spec_for(run))

    def review_data(self, session_id):
        """The segment page's data, or None for an unknown run."""
        with self.store.editing(session_id) as run:
            return None if run is None else review.review_data(self, run)

    def confirm_selection(self, session_id, segments, accept_warnings=False):
        """Store the confirmed selection of a waiting run and go on; SelectionError if refused."""
        return review.confirm(self, session_id, segments, accept_warnings)

    def reselect(self, session_id):
        """A new run that reuses stages 1-4 of this run's episode and waits for a new selection,
        started through the same locked path as any run.

        Returns (status, new session id), None for an unknown run; ResumeRefused when the
        episode has no segments to choose from or the run is still live.
        """
        with self.store.editing(session_id) as run:
            if run is None:
                return None
            folder = Path(self.episodes_root) / run.episode_dir
            if run.state not in FINISHED_STATES or not review.has_selection(folder):
                raise ResumeRefused("A new selection needs a finished run whose episode has "
                                    "segments (stage 4).")
            checked = run_request.reselection(run, self.settings, self.episodes_root)
        status, new_id, _duplicate = self.start_checked(checked)
        return status, new_id

    # --- stopping and describing ----------------------------------------------------------------
    def cancel(self, session_id):
        """Cancel a run: "cancelling", "cancelled", "not_running", or None when unknown."""
        status = self.runner.cancel(session_id)
        if status is not None:
            return status
        if not self.store.has_run(session_id):
            return None
        with self.recorder.locked(session_id), self.store.editing(session_id) as run:
            if run.state == "awaiting_selection":
                outputs = list_outputs(Path(self.episodes_root) / run.episode_dir)
                self.lifecycle.cancel_waiting(run, outputs)
                return "cancelled"
            return "cancelled" if run.state == "cancelled" else "not_running"

    def snapshot(self, session_id):
        """The status snapshot of SPEC §4/§5, or None for an unknown run."""
        if not self.store.has_run(session_id):
            return None   # no lock is made for an id no run has
        # Under the run's lock: the row, the live progress and last_seq belong together.
        with self.recorder.locked(session_id), self.store.editing(session_id) as run:
            return None if run is None else run_snapshot(run, self.runner, self.store)
