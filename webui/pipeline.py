"""The web side of the pipeline: validated requests become runs; snapshots for pages and sockets."""
import uuid
from pathlib import Path

from services.controller import PipelineController, RunSpec
from services.context import StageContext
from services.estimation import Estimator, timing_signature
from services.manager import RunManager
from services import events
from services.events import EventRecorder, utc_timestamp
from services.stages import STAGES_BY_NUMBER, get_stage
from services.validation import ValidationError, episode_directory, parse_stages, validate_url
from webui import log_handler
from webui.extensions import db
from webui.models import Run, iso, utcnow
from webui.store import SqlRunStore

FINISHED_STATES = ("completed", "failed", "cancelled", "interrupted")
RESUMABLE_STATES = ("interrupted", "failed", "cancelled")
LIVE_STATES = ("running", "awaiting_selection")
DONE_STAGE_STATES = ("completed", "reused")
MAX_OPTIONS = 50


class ResumeRefused(Exception):
    """A run that cannot be resumed in its state."""


class Pipeline:
    """Starts, cancels and describes runs for one app (stored in `app.extensions["pipeline"]`)."""

    def __init__(self, app, settings):
        self.app = app
        self.settings = settings
        self.episodes_root = f"{settings['data_dir']}/episodes"
        self.store = SqlRunStore(app)
        self.recorder = EventRecorder(self.store)
        self.logs = log_handler.install(settings["logging"].get("level", "INFO"))
        self.manager = RunManager(self._make_controller, self.recorder, self.store,
                                  settings["max_concurrent_runs"])

    def _make_controller(self, spec, on_finished):
        def finished(controller):
            self.logs.unroute(spec.session_id)
            on_finished(controller)

        self.logs.route(spec.session_id, self.recorder)
        return PipelineController(spec, self.settings, self.recorder, self.store,
                                  self._estimator(spec), on_finished=finished)

    def _estimator(self, spec):
        """An estimator fed by earlier runs with the same preset and stage parameters."""
        ctx = StageContext(spec.session_id, spec.url, spec.episode_dir, spec.options,
                           self.settings, cancel=None, reporter=None)
        signatures = {}
        for number in spec.stages:
            stage = get_stage(number)
            signatures[stage.key] = timing_signature(stage.parameters_for(ctx))
        return Estimator(self.store.stage_history(spec.preset, signatures))

    def validate(self, data):
        """A RunSpec from request data, or ValidationError."""
        if not isinstance(data, dict):
            raise ValidationError("body", "Send a JSON object or a form.", "invalid_body")
        url = validate_url(data.get("youtube_url"))
        stages = parse_stages(data.get("selected_stages", [1, 2]))
        name, folder = episode_directory(self.episodes_root, data.get("episode_directory"), url)
        preset = data.get("preset") or "default"
        if not isinstance(preset, str) or preset != "default":
            raise ValidationError("preset", "Unknown preset; the only preset for now is 'default'.",
                                  "unknown_preset")
        options = data.get("options") or {}
        if not isinstance(options, dict) or len(options) > MAX_OPTIONS:
            raise ValidationError("options", "options must be an object of at most 50 settings.")
        self._check_inputs(stages, folder)
        spec = RunSpec(session_id=uuid.uuid4().hex, url=url, stages=stages, episode_dir=folder,
                       options=options, preset=preset)
        return spec, name

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
        spec, name = self.validate(data)
        active = self.manager.find_active(spec.url, spec.stages)
        if active is not None:
            return active[1], active[0], True
        self.store.create_run(spec, name)
        return self.manager.submit(spec), spec.session_id, False

    def _spec_for(self, run, done_stages=()):
        return RunSpec(session_id=run.session_id, url=run.url, stages=list(run.selected_stages),
                       episode_dir=Path(self.episodes_root) / run.episode_dir,
                       options=dict(run.options or {}), preset=run.preset,
                       done_stages=tuple(done_stages))

    def recover(self):
        """After a restart: runs left running become `interrupted`; queued runs queue again."""
        interrupted = []
        with self.app.app_context():
            for run in db.session.scalars(db.select(Run).where(Run.state.in_(LIVE_STATES))):
                stage = next((s for s in run.stage_runs if s.state == "running"), None)
                where = f"stage {stage.stage} ({get_stage(stage.stage).name})" if stage else "a run"
                run.state = "interrupted"
                run.error = f"The server stopped during {where}; resume the run to finish it."
                run.finished_at = utcnow()
                if stage is not None:
                    stage.state = "interrupted"
                    stage.finished_at = run.finished_at
                interrupted.append((run.session_id, stage.stage if stage else None, run.error))
            db.session.commit()
            queued = [self._spec_for(run) for run in db.session.scalars(
                db.select(Run).where(Run.state == "queued").order_by(Run.id))]
        for session_id, stage, message in interrupted:
            self.recorder.emit(session_id, events.ERROR, {
                "stage": stage, "error": {"type": "Interrupted", "message": message},
                "recoverable": True})
            self.recorder.forget(session_id)
        for spec in queued:
            self.manager.submit(spec)
        return len(interrupted), len(queued)

    def resume(self, session_id):
        """Run an interrupted, failed or cancelled run again from its last completed stage."""
        run = db.session.scalar(db.select(Run).where(Run.session_id == session_id))
        if run is None:
            return None
        if run.state not in RESUMABLE_STATES or self.manager.controller(session_id):
            raise ResumeRefused(f"A {run.state} run cannot be resumed; only interrupted, failed "
                                "or cancelled runs can.")
        done = [s.stage for s in run.stage_runs if s.state in DONE_STAGE_STATES]
        for stage in run.stage_runs:
            if stage.stage not in done:
                stage.state, stage.error, stage.finished_at = "pending", None, None
        run.state, run.error, run.finished_at = "queued", None, None
        db.session.commit()
        return self.manager.submit(self._spec_for(run, done))

    def cancel(self, session_id):
        """Cancel a run: "cancelling", "cancelled", "not_running", or None when unknown."""
        status = self.manager.cancel(session_id)
        if status is not None:
            return status
        run = db.session.scalar(db.select(Run).where(Run.session_id == session_id))
        if run is None:
            return None
        return "cancelled" if run.state == "cancelled" else "not_running"

    def snapshot(self, session_id):
        """The status snapshot of SPEC §4/§5, or None for an unknown run."""
        with self.recorder.locked(session_id):
            run = db.session.scalar(db.select(Run).where(Run.session_id == session_id))
            if run is None:
                return None
            db.session.refresh(run)
            controller = self.manager.controller(session_id)
            live = controller.live_progress() if controller else None
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
            "message": live["message"] if live else None,
            "time_elapsed": live["time_elapsed"] if live else run.duration,
            "estimated_remaining": live["estimated_remaining"] if live else (
                0.0 if run.state in FINISHED_STATES else None),
            "queue_position": self.manager.queue_position(session_id),
            "created_at": iso(run.created_at),
            "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at),
            "error": run.error,
            "last_seq": last_seq,
            "timestamp": utc_timestamp(),
        }
