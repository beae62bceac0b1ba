"""The web side of the pipeline: validated requests become runs; snapshots for pages and sockets."""
import threading
import uuid
from datetime import timezone
from pathlib import Path

from services import presets
from services.engine.checkpoints import list_outputs
from services.engine.controller import WAITING_MESSAGE, PipelineController, RunSpec
from services.engine.context import StageContext
from services.engine.estimation import Estimator, timing_signature
from services.engine.thread_runner import RunManager
from services.engine import events
from services.engine.events import EventRecorder, utc_timestamp
from services.text.selection import SelectionError  # noqa: F401 - raised through confirm_selection
from services.stages import STAGES_BY_NUMBER, get_stage
from services.input_checks import ValidationError, episode_directory, parse_stages, validate_url
from orchestration import log_stream as log_handler
from storage import presets as preset_store
from orchestration import review
from storage.models import (DONE_STAGE_STATES, FINISHED_STATES, LIVE_STATES, RESUMABLE_STATES,
                          iso, utcnow)
from storage.runs import SqlRunStore

MAX_OPTIONS = 50
DEFAULT_MAX_QUEUED = 100


def _aware(moment):
    """A stored datetime as timezone-aware UTC (SQLite gives them back naive)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _done_stages(run):
    return [s.stage for s in run.stage_runs if s.state in DONE_STAGE_STATES]


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
        self.logs = log_handler.install(settings["logging"].get("level", "INFO"))
        self.rq = None
        if settings["runner"] == "rq" and role in ("web", "worker"):
            from orchestration.rq_runner import RqManager

            self.rq = RqManager(self.store, self.recorder, settings, on_lost=self.interrupt_lost)
        if self.rq is not None and role == "web":
            self.manager = self.rq
        else:
            self.manager = RunManager(self._make_controller, self.recorder, self.store,
                                      1 if role == "worker" else settings["max_concurrent_runs"])
        self._start_lock = threading.RLock()   # start, resume and continue decide one at a time

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
        ctx = StageContext(spec.session_id, spec.url, spec.episode_dir, spec.options,
                           spec.settings or self.settings, cancel=None, reporter=None)
        signatures = {}
        for number in spec.stages:
            stage = get_stage(number)
            signatures[stage.key] = timing_signature(stage.parameters_for(ctx))
        return Estimator(self.store.stage_history(spec.preset, signatures))

    def settings_of(self, run):
        """The effective settings of a stored run: the configuration with its preset fields."""
        return presets.apply(self.settings, run.settings or {})

    def _asset_exists(self, name):
        from services.assets import exists

        return exists(self.settings["data_dir"], name)

    def _preset(self, data):
        """The named preset (None for "default": the configuration as it is), or ValidationError."""
        name = data.get("preset")
        if name in (None, "", "default"):
            return None
        preset = preset_store.by_name(name) if isinstance(name, str) else None
        if preset is None:
            known = ", ".join(p.name for p in preset_store.all_presets()) or "none yet"
            raise ValidationError("preset", f"There is no preset named {str(name)[:80]!r}; the "
                                  f"presets are: {known}.", "unknown_preset")
        return preset

    def _effective(self, preset, options):
        """The preset fields a run uses: configuration, then preset, then the run's overrides."""
        overrides = {key: value for key, value in options.items() if key in presets.FIELDS_BY_NAME}
        values, errors = presets.validate(overrides, self._asset_exists, partial=True)
        if errors:
            field, message = next(iter(errors.items()))
            raise ValidationError(f"options.{field}", message, "invalid_option")
        layers = [preset.settings if preset else {}, values]
        effective = presets.field_values(presets.apply(self.settings, *layers))
        for field in presets.FIELDS:
            name = effective.get(field.name)
            if field.kind == "asset" and name and not self._asset_exists(name):
                where = f"The preset '{preset.name}'" if preset else "The configuration"
                raise ValidationError("preset", f"{where} uses the audio file '{name}' as its "
                                      f"{field.label.lower()}, but it is no longer among the "
                                      "assets; upload it again or edit the preset.", "missing_asset")
        return effective

    def validate(self, data):
        """A RunSpec (with its effective preset fields) from request data, or ValidationError."""
        if not isinstance(data, dict):
            raise ValidationError("body", "Send a JSON object or a form.", "invalid_body")
        url = validate_url(data.get("youtube_url"),
                           bool(self.settings["limits"].get("block_private_networks")))
        preset = self._preset(data)
        stages_value = data.get("selected_stages")
        if stages_value is None:
            stages_value = preset.stages if preset else [1, 2]
        stages = parse_stages(stages_value)
        name, folder = episode_directory(self.episodes_root, data.get("episode_directory"), url)
        options = data.get("options") or {}
        if not isinstance(options, dict) or len(options) > MAX_OPTIONS:
            raise ValidationError("options", "options must be an object of at most 50 settings.")
        effective = self._effective(preset, options)
        self._check_inputs(stages, folder)
        spec = RunSpec(session_id=uuid.uuid4().hex, url=url, stages=stages, episode_dir=folder,
                       options=options, preset=preset.name if preset else "default",
                       settings=presets.apply(self.settings, effective))
        return spec, name, effective

    @staticmethod
    def _check_inputs(stages, folder):
        """Each stage's inputs must come from an earlier selected stage or the episode folder."""
        produced = set()
        for number in stages:
            stage = get_stage(number)
            for needed in stage.requires:
                if needed not in produced and not (folder / needed).is_file():
                    maker = next(s for s in STAGES_BY_NUMBER.values() if needed in s.outputs)
                    raise ValidationError(
                        "selected_stages",
                        f"Stage {number} ({stage.name}) needs {needed}; select stage "
                        f"{maker.number} ({maker.name}) too, or use an episode folder that has it.",
                        "missing_input")
            produced.update(stage.outputs)

    def start(self, data):
        """Validate and start (or queue) a run; returns (status, session_id, duplicate).

        While a run of the same URL and stages is running or queued, its id is returned instead.
        """
        return self._start_validated(*self.validate(data))

    def _start_validated(self, spec, name, effective):
        """Start (or queue) a run validated by `validate`, as `start` does."""
        with self._start_lock:  # the duplicate check and the start are one step
            active = self.manager.find_active(spec.url, spec.stages)
            if active is not None:
                return active[1], active[0], True
            self._check_queue_room()
            self.store.create_run(spec, name, effective)
            return self.manager.submit(spec), spec.session_id, False

    def start_many(self, validated):
        """Start (or queue) several runs, each (spec, episode name, effective fields) as
        `validate` gives them, in order, all or none: a list of (status, session_id,
        duplicate); QueueFull when they would not all fit in the queue."""
        with self._start_lock:   # queued together, in order, with nothing between them
            self._check_queue_room(len(validated))
            started = []
            try:
                for run in validated:
                    started.append(self._start_validated(*run))
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
        waiting = self.manager.queued_count()
        if waiting + count > limit:
            if count == 1:
                raise QueueFull(f"{limit} runs are already waiting; wait for some to finish or "
                                "cancel some before starting more.")
            raise QueueFull(f"These {count} runs do not fit: {waiting} runs already wait and at "
                            f"most {limit} may; choose fewer items, or wait.")

    def _spec_for(self, run, done_stages=(), elapsed=0.0):
        return RunSpec(session_id=run.session_id, url=run.url, stages=list(run.selected_stages),
                       episode_dir=Path(self.episodes_root) / run.episode_dir,
                       options=dict(run.options or {}), preset=run.preset,
                       done_stages=tuple(done_stages), settings=self.settings_of(run),
                       elapsed_before=elapsed, progress_floor=run.progress or 0.0)

    def spec_of(self, session_id):
        """The RunSpec of a stored run, carrying its completed stages and working time."""
        with self.store.editing(session_id) as run:
            return self._spec_for(run, _done_stages(run), run.duration or 0.0)

    def _interrupt(self, runs, who):
        """Mark live runs interrupted (`who` stopped during them) and say so in their events."""
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

    def recover(self):
        """After a restart: runs left running become `interrupted`; queued runs queue again.

        With `runner: rq` the runs belong to the workers: a run is interrupted only when its
        worker stops answering (the watch started here), and the queue is handed out again.
        """
        if self.rq is not None:
            self.rq.start_watching()
            return 0, len(self.rq.dispatch())
        with self.store.runs_in(*LIVE_STATES) as runs:
            interrupted = self._interrupt(runs, "The server")
        with self.store.runs_in("queued") as runs:
            queued = [self._spec_for(run, _done_stages(run), run.duration or 0.0) for run in runs]
        for spec in queued:
            self.manager.submit(spec)
        return len(interrupted), len(queued)

    def interrupt_lost(self, session_id):
        """A run whose RQ worker stopped answering becomes `interrupted` (resumable)."""
        with self.recorder.locked(session_id), self.store.editing(session_id) as run:
            if run is not None:
                self._interrupt([run], "Its worker")

    def resume(self, session_id):
        """Run an interrupted, failed or cancelled run again from its last completed stage.

        A run stopped while it waited for a selection (stage 4 done, not yet confirmed) waits
        again instead.
        """
        if not self.store.has_run(session_id):
            return None
        with self._start_lock, self.recorder.locked(session_id), \
                self.store.editing(session_id) as run:
            if run.state not in RESUMABLE_STATES or self.manager.controller(session_id):
                raise ResumeRefused(f"A {run.state} run cannot be resumed; only interrupted, "
                                    "failed or cancelled runs can.")
            done = _done_stages(run)
            for stage in run.stage_runs:
                if stage.stage not in done:
                    stage.state, stage.error, stage.finished_at = "pending", None, None
            # Carry the working time and the progress already shown into the resumed run: the
            # time since it stopped (and a dead server's downtime) is not running time.
            shown = self.store.last_progress(session_id) or {}
            worked = shown.get("time_elapsed")
            if not isinstance(worked, (int, float)) or worked < 0:
                worked = run.duration or 0.0
            if run.started_at is not None:
                run.waited_seconds = max(
                    (utcnow() - _aware(run.started_at)).total_seconds() - worked, 0.0)
            run.progress = max(run.progress or 0.0, float(shown.get("progress") or 0.0))
            run.error, run.finished_at, run.waiting_since = None, None, None
            if self._waits_for_selection(run, done):
                run.state, run.waiting_since = "awaiting_selection", utcnow()
                self.store.save()
                self._announce_waiting(run)
                return "awaiting_selection"
            run.state = "queued"
            self.store.save()
            return self.manager.submit(self._spec_for(run, done, run.duration or 0.0))

    def _waits_for_selection(self, run, done):
        stage_4 = get_stage(4)
        if stage_4.number not in done or not (self.settings_of(run).get("segments") or {}).get("review"):
            return False
        saved = review.review_data(self, run)
        return saved["status"] != "confirmed"

    def _announce_waiting(self, run):
        self.recorder.emit(run.session_id, events.PROGRESS, {
            "title": run.title, "stage": 4, "stage_key": "segment_selection",
            "stage_name": get_stage(4).name, "stage_description": get_stage(4).description,
            "sub_stage": "Awaiting review", "sub_progress": None, "stage_progress": 100.0,
            "progress": round(run.progress or 0.0, 2), "status": "awaiting_selection",
            "message": WAITING_MESSAGE,
            "time_elapsed": round(run.duration or 0.0, 1), "estimated_remaining": None,
            "error": None, "review_url": f"/runs/{run.session_id}/segments"})
        self.recorder.forget(run.session_id)

    def continue_run(self, run):
        """Run the stages after the review (called with the run's lock held)."""
        if run.waiting_since is not None:
            run.waited_seconds = (run.waited_seconds or 0.0) + max(
                (utcnow() - _aware(run.waiting_since)).total_seconds(), 0.0)
            run.waiting_since = None
        done = _done_stages(run)
        run.state = "queued"
        self.store.save()
        return self.manager.submit(self._spec_for(run, done, run.duration or 0.0))

    def review_data(self, session_id):
        """The segment page's data, or None for an unknown run."""
        with self.store.editing(session_id) as run:
            return None if run is None else review.review_data(self, run)

    def confirm_selection(self, session_id, segments, accept_warnings=False):
        """Store the confirmed selection of a waiting run and go on; SelectionError if refused."""
        return review.confirm(self, session_id, segments, accept_warnings)

    def reselect(self, session_id):
        """A new run that reuses stages 1-4 of this run's episode and waits for a new selection.

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
            effective = dict(run.settings or presets.field_values(self.settings),
                             review_segments=True)
            stages = sorted({4} | {n for n in run.selected_stages if n > 4})
            spec = RunSpec(session_id=uuid.uuid4().hex, url=run.url, stages=stages,
                           episode_dir=folder, preset=run.preset,
                           options={k: v for k, v in (run.options or {}).items() if k != "force"},
                           settings=presets.apply(self.settings, effective))
            episode_name = run.episode_dir
        self.store.create_run(spec, episode_name, effective)
        return self.manager.submit(spec), spec.session_id

    def cancel(self, session_id):
        """Cancel a run: "cancelling", "cancelled", "not_running", or None when unknown."""
        status = self.manager.cancel(session_id)
        if status is not None:
            return status
        if not self.store.has_run(session_id):
            return None
        with self.recorder.locked(session_id), self.store.editing(session_id) as run:
            if run.state == "awaiting_selection":
                self._cancel_waiting(run)
                return "cancelled"
            return "cancelled" if run.state == "cancelled" else "not_running"

    def _cancel_waiting(self, run):
        now = utcnow()
        if run.waiting_since is not None:
            run.waited_seconds = (run.waited_seconds or 0.0) + max(
                (now - _aware(run.waiting_since)).total_seconds(), 0.0)
            run.waiting_since = None
        run.state, run.finished_at = "cancelled", now
        self.store.save()
        self.recorder.emit(run.session_id, events.COMPLETION, {
            "status": "cancelled", "duration": round(run.duration or 0.0, 2), "error": None,
            "outputs": list_outputs(Path(self.episodes_root) / run.episode_dir)})
        self.recorder.forget(run.session_id)

    def snapshot(self, session_id):
        """The status snapshot of SPEC §4/§5, or None for an unknown run."""
        if not self.store.has_run(session_id):
            return None   # no lock is made for an id no run has
        # Under the run's lock: the row, the live progress and last_seq belong together.
        with self.recorder.locked(session_id), self.store.editing(session_id) as run:
            return None if run is None else self._snapshot_of(run)

    def _snapshot_of(self, run):
        session_id = run.session_id
        live = self.manager.live_progress(session_id, run.state)
        last_seq = self.store.last_seq(session_id)
        stages = []
        for stage_run in run.stage_runs:
            definition = get_stage(stage_run.stage)
            entry = {
                "stage": stage_run.stage, "key": definition.key, "name": definition.name,
                "description": definition.description, "status": stage_run.state,
                "progress": 100.0 if stage_run.state in DONE_STAGE_STATES else 0.0,
                "sub_stage": None, "sub_stages": list(definition.sub_stages),
                "duration": stage_run.duration, "error": stage_run.error,
            }
            if live and live["stage"] == stage_run.stage and stage_run.state == "running":
                entry.update(progress=live["stage_progress"], sub_stage=live["sub_stage"],
                             sub_progress=live["sub_progress"])
            stages.append(entry)
        return {
            "session_id": run.session_id,
            "url": run.url,
            "title": run.title,
            "state": run.state,
            "preset": run.preset,
            "selected_stages": run.selected_stages,
            "episode_directory": run.episode_dir,
            "media_duration": run.media_duration,
            "current_stage": run.current_stage,
            "stages": stages,
            "progress": live["progress"] if live else round(run.progress or 0.0, 2),
            "message": live["message"] if live else (
                WAITING_MESSAGE if run.state == "awaiting_selection" else None),
            "review_url": f"/runs/{run.session_id}/segments" if run.state == "awaiting_selection" else None,
            "time_elapsed": live["time_elapsed"] if live else run.duration,
            "estimated_remaining": live["estimated_remaining"] if live else (
                0.0 if run.state in FINISHED_STATES else None),
            "queue_position": self.manager.queue_position(session_id),
            "queue_reason": self.manager.queue_reason(session_id),
            "created_at": iso(run.created_at),
            "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at),
            "error": run.error,
            "last_seq": last_seq,
            "timestamp": utc_timestamp(),
        }
