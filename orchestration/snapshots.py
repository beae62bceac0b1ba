"""A run's status snapshot (SPEC §4/§5): its stored row with the live progress of its runner."""
from services.engine.events import utc_timestamp
from services.engine.lifecycle import WAITING_MESSAGE, review_url
from services.engine.run_states import DONE_STAGE_STATES, FINISHED_STATES
from services.stages import get_stage
from storage.models import iso


def run_snapshot(run, runner, store):
    """The status snapshot of SPEC §4/§5 of a stored run (called with the run's lock held)."""
    session_id = run.session_id
    live = runner.live_progress(session_id, run.state)
    last_seq = store.last_seq(session_id)
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
        "review_url": review_url(run.session_id) if run.state == "awaiting_selection" else None,
        "time_elapsed": live["time_elapsed"] if live else run.duration,
        "estimated_remaining": live["estimated_remaining"] if live else (
            0.0 if run.state in FINISHED_STATES else None),
        "queue_position": runner.queue_position(session_id),
        "queue_reason": runner.queue_reason(session_id),
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "error": run.error,
        "last_seq": last_seq,
        "timestamp": utc_timestamp(),
    }
