"""The SQL store: stage history for estimates is filtered by preset and timing parameters."""
import uuid

from storage.database import db
from storage.models import Run, StageRun


def add_run(app, preset, stage_key, parameters, media, duration, state="completed"):
    with app.app_context():
        run = Run(session_id=uuid.uuid4().hex, url="http://x/y", state="completed",
                  selected_stages=[2], preset=preset, options={}, episode_dir="e")
        run.stage_runs = [StageRun(stage=2, stage_key=stage_key, state=state, duration=duration,
                                   media_duration=media, parameters=parameters)]
        db.session.add(run)
        db.session.commit()


def test_stage_history_matches_preset_and_parameters(app):
    store = app.extensions["pipeline"].store
    tiny = {"model": "hist-tiny", "beam_size": 1}
    add_run(app, "hist-preset", "transcription", tiny, 100.0, 10.0)
    add_run(app, "hist-preset", "transcription", {**tiny, "url": "http://other"}, 200.0, 30.0)
    add_run(app, "hist-preset", "transcription", {"model": "hist-large", "beam_size": 5}, 100.0, 90.0)
    add_run(app, "other-preset", "transcription", tiny, 100.0, 50.0)
    add_run(app, "hist-preset", "transcription", tiny, 100.0, 70.0, state="failed")
    history = store.stage_history("hist-preset", {"transcription": tiny})
    assert sorted(history["transcription"]) == [(100.0, 10.0), (200.0, 30.0)]
    assert store.stage_history("hist-preset", {"transcription": {"model": "none"}}) == {}
