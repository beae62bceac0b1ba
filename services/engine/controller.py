"""Runs one pipeline run: its selected stages in order, in a background thread.

The controller owns ordering, checkpoints, cancel and timing. It reports through an event
recorder (numbered events) and a run store (stage rows); the run's own state changes go
through services/engine/lifecycle.py.
"""
import json
import logging
import threading
import time

from services.engine import events
from services.engine.cancel import Cancelled, CancelToken
from services.engine.checkpoints import Checkpoints, list_files, list_outputs, remove_new_files
from services.engine.context import StageContext, StageError
from services.engine.estimation import Estimator
from services.engine.lifecycle import WAITING_MESSAGE, RunLifecycle
from services.engine.progress import ProgressTracker
from services.engine.run_logs import bound_to_run
from services.media.ffmpeg import MediaError
from services.stages import get_stage

log = logging.getLogger("pipeline")

TICK_SECONDS = 0.1        # at most ~10 progress events a second
HEARTBEAT_SECONDS = 0.8   # at least one progress event a second while a stage runs (with margin)


class AwaitingSelection(Exception):
    """Stage 4 proposed segments and the run waits for the user's selection."""


class PipelineController:
    """One run's thread, cancel token and live progress."""

    def __init__(self, spec, settings, recorder, store, estimator=None, on_finished=None):
        self.spec = spec
        self.settings = spec.settings or settings
        self.recorder = recorder
        self.store = store
        self.lifecycle = RunLifecycle(store, recorder)
        self.cancel_token = CancelToken()
        self.on_finished = on_finished
        self.definitions = [get_stage(number) for number in spec.stages]
        self.tracker = ProgressTracker(self.definitions, estimator or Estimator())
        self.tracker.started -= spec.elapsed_before
        self.tracker.overall = min(max(spec.progress_floor, 0.0), 100.0)
        self.lock = recorder.locked(spec.session_id)
        self.state = "queued"
        self._dirty = False
        self._last_emit = 0.0
        self._stage_running = False
        self._stop_ticker = threading.Event()
        self.thread = None

    # --- control -------------------------------------------------------------------------
    def start(self):
        """Run the stages in a background thread."""
        self.thread = threading.Thread(target=self._run, name=f"run-{self.spec.session_id[:8]}",
                                       daemon=True)
        self.thread.start()

    def cancel(self):
        """Ask the run to stop; returns the cancel status for the caller."""
        self.cancel_token.cancel()
        return self.state if self.state in ("completed", "failed", "cancelled") else "cancelling"

    def live_progress(self):
        """The current progress payload (for snapshots)."""
        with self.lock:
            return self.tracker.payload()

    # --- reporting (called by StageContext) --------------------------------------------------
    def sub_stage(self, name):
        with self.lock:
            if self._dirty:  # show where the previous sub-stage ended before moving on
                self._emit_progress()
            self.tracker.set_sub_stage(name)
            self._emit_progress()
            stage_name = self.tracker.stage.name
        log.info("%s: %s", stage_name, name)

    def sub_progress(self, current, total, unit, description):
        with self.lock:
            self.tracker.set_sub_progress(current, total, unit, description)
            self._dirty = True

    def media_info(self, duration=None, title=None):
        fields = {}
        if duration:
            with self.lock:
                self.tracker.media_seconds = float(duration)
            fields["media_duration"] = float(duration)
        if title:
            fields["title"] = str(title)[:500]
            with self.lock:
                self.tracker.title = fields["title"]
        if fields:
            self.store.update_run(self.spec.session_id, **fields)

    # --- events ----------------------------------------------------------------------------
    def _emit(self, kind, payload):
        return self.recorder.emit(self.spec.session_id, kind, payload)

    def _emit_pair(self, payload):
        """`pipeline_progress` and its twin `pipeline_update`, with nothing between them."""
        self.recorder.emit_together(self.spec.session_id,
                                    [(events.PROGRESS, payload), (events.UPDATE, payload)])

    def _emit_progress(self):
        with self.lock:
            payload = self.tracker.payload()
            self._emit_pair(payload)
            self._dirty = False
            self._last_emit = time.monotonic()

    def _tick(self):
        while not self._stop_ticker.wait(TICK_SECONDS):
            try:
                with self.lock:
                    if not self._stage_running:
                        continue
                    quiet = time.monotonic() - self._last_emit
                    if self._dirty or quiet >= HEARTBEAT_SECONDS:
                        self._emit_progress()
            except Exception:  # a failed heartbeat (e.g. the database busy) must not end ticking
                log.warning("A progress update could not be sent", exc_info=True)

    # --- the run -----------------------------------------------------------------------------
    def _run(self):
        """The run's thread: whatever happens, the run ends in a final state and its slot is
        given back (on_finished runs in a finally)."""
        try:
            with bound_to_run(self.spec.session_id):
                status, error = self._run_stages()
                try:
                    self._finish(status, error)
                except Exception as exc:
                    log.error("The end of the run could not be recorded", exc_info=True)
                    self._finish_anyway(status, error, exc)
        finally:
            if self.on_finished:
                self.on_finished(self)

    def _run_stages(self):
        """Run the selected stages; returns (status, error)."""
        session_id = self.spec.session_id
        ticker = threading.Thread(target=self._tick, name=f"tick-{session_id[:8]}", daemon=True)
        status, error = "completed", None
        try:
            self.spec.episode_dir.mkdir(parents=True, exist_ok=True)
            self.state = "running"
            self.lifecycle.start(session_id, first=not self.spec.elapsed_before)
            self._load_known_media()
            log.info("Run started: stages %s on %s", self.spec.stages, self.spec.url)
            ticker.start()
            for index, definition in enumerate(self.definitions):
                self.cancel_token.raise_if_cancelled()
                if definition.number in self.spec.done_stages:
                    self._skip_done_stage(index, definition)
                    continue
                self._run_stage(index, definition)
                if definition.key == "segment_selection" and self._review_wanted():
                    raise AwaitingSelection()
        except AwaitingSelection:
            status = "awaiting_selection"
        except Cancelled:
            status = "cancelled"
        except (StageError, MediaError) as exc:
            status, error = "failed", str(exc)
        except Exception as exc:  # an unexpected failure still ends the run cleanly
            log.error("Unexpected error in the pipeline", exc_info=True)
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            self._stop_ticker.set()
        return status, error

    def _finish_anyway(self, status, error, exc):
        """After a failure to record the end: store a final state with the reason, each step
        on its own, so one more failure cannot leave the run looking live."""
        final = "failed" if status in ("completed", "awaiting_selection") else status
        message = error or f"The end of the run could not be recorded: {type(exc).__name__}: {exc}"
        self.state = final
        self.lifecycle.finish_anyway(self.spec.session_id, final, message, self.tracker.elapsed())

    def _review_wanted(self):
        return bool((self.settings.get("segments") or {}).get("review"))

    def _load_known_media(self):
        try:
            metadata = json.loads((self.spec.episode_dir / "metadata.json").read_text("utf-8"))
        except (OSError, ValueError):
            return
        self.media_info(duration=metadata.get("duration"), title=metadata.get("title"))

    def _skip_done_stage(self, index, definition):
        with self.lock:
            self.tracker.start_stage(index)
            self.tracker.finish_stage(f"{definition.name} was completed earlier in this run")
        log.info("%s: completed earlier in this run, not redone", definition.name)

    def _run_stage(self, index, definition):
        session_id = self.spec.session_id
        previous = self.tracker.stage
        ctx = StageContext(session_id, self.spec.url, self.spec.episode_dir,
                           self.settings, self.cancel_token, self)
        parameters = definition.parameters_for(ctx)
        checkpoints = Checkpoints(self.spec.episode_dir)
        with self.lock:
            self.tracker.start_stage(index)
            self._emit(events.TRANSITION, {
                "from_stage": previous.number if previous else None,
                "to_stage": definition.number,
                "stage_name": definition.name,
                "stage_progress": 0.0,
            })
        self.store.update_run(session_id, current_stage=definition.number)
        self.store.update_stage(session_id, definition.number, state="running", started=True,
                                parameters=parameters)
        started = time.monotonic()

        reused = None if self.spec.force else checkpoints.reusable(definition.key,
                                                                                   parameters)
        if reused is not None:
            log.info("%s: reusing outputs of an earlier run (%s)", definition.name, ", ".join(reused))
            self._end_stage(definition, "reused", started, "reused earlier outputs")
            return

        checkpoints.forget(definition.key)
        before = list_files(self.spec.episode_dir)
        with self.lock:
            self._stage_running = True
            self._emit_progress()
        try:
            outputs = definition.run(ctx)
        except BaseException as exc:
            with self.lock:
                self._stage_running = False
            remove_new_files(self.spec.episode_dir, before)
            self._fail_stage(definition, started, exc)
            raise
        with self.lock:
            self._stage_running = False
        checkpoints.record(definition.key, parameters, outputs)
        self._end_stage(definition, "completed", started, f"{definition.name} completed")

    def _end_stage(self, definition, state, started, message):
        duration = time.monotonic() - started
        with self.lock:
            self.tracker.finish_stage(message)
            self._emit_progress()
        self.store.update_stage(self.spec.session_id, definition.number, state=state,
                                finished=True, duration=duration,
                                media_duration=self.tracker.media_seconds)
        self.store.update_run(self.spec.session_id, progress=self.tracker.overall)
        log.info("%s %s in %.1f s", definition.name, state, duration)

    def _fail_stage(self, definition, started, exc):
        duration = time.monotonic() - started
        if isinstance(exc, Cancelled):
            log.warning("%s cancelled; its partial files were removed", definition.name)
            self.store.update_stage(self.spec.session_id, definition.number, state="cancelled",
                                    finished=True, duration=duration)
            return
        message = str(exc) if isinstance(exc, (StageError, MediaError)) else (
            f"{type(exc).__name__}: {exc}")
        log.error("%s failed: %s", definition.name, message)
        self.store.update_stage(self.spec.session_id, definition.number, state="failed",
                                finished=True, duration=duration, error=message)
        self._emit(events.ERROR, {
            "stage": definition.number,
            "error": {"type": type(exc).__name__, "message": message,
                      "code": getattr(exc, "code", None)},
            "recoverable": isinstance(exc, (StageError, MediaError)),
        })

    def _await_selection(self):
        """Stop here until the user confirms a selection; the run's slot is given back."""
        session_id = self.spec.session_id
        with self.lock:
            self.state = "awaiting_selection"
            self.tracker.complete("awaiting_selection", WAITING_MESSAGE)
            self.lifecycle.await_selection(session_id, self.tracker.title, self.tracker.overall,
                                           self.tracker.elapsed())
        log.info("%s; the run waits at /runs/%s/segments", WAITING_MESSAGE, session_id)

    def _finish(self, status, error):
        session_id = self.spec.session_id
        if status == "awaiting_selection":
            self._await_selection()
            return
        messages = {"completed": "Run completed", "cancelled": "Run cancelled",
                    "failed": f"Run failed: {error}"}
        with self.lock:
            self.state = status
            self.tracker.complete(status, messages[status])
            payload = self.tracker.payload()
            payload["error"] = error
            self.lifecycle.finish(session_id, status, payload, list_outputs(self.spec.episode_dir),
                                  self.tracker.elapsed())
