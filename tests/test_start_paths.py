"""Every way of starting a run goes through one locked path (Pipeline.start_checked): the
duplicate check, the queue limit and the stored state are the same for /pipeline/execute,
"Re-run with a new selection", batches and `run.py process`."""
import subprocess
import sys
from pathlib import Path

import pytest

from tests.segment_support import make_run
from tests.server_support import start_run, wait_state

ROOT = Path(__file__).resolve().parent.parent
ENDED = ("completed", "failed", "cancelled", "interrupted", "awaiting_selection")


@pytest.fixture
def full_queue(app, monkeypatch):
    """The runner reports as many queued runs as the limit allows."""
    pipeline = app.extensions["pipeline"]
    monkeypatch.setitem(pipeline.settings["limits"], "max_queued_runs", 3)
    monkeypatch.setattr(pipeline.runner, "queued_count", lambda: 3)
    return pipeline


def test_a_new_selection_is_refused_when_the_queue_is_full(app, client, full_queue):
    session_id = make_run(app, state="completed")
    answer = client.post(f"/api/pipeline/reselect/{session_id}", json={})
    assert answer.status_code == 429
    assert answer.get_json()["error"]["code"] == "queue_full"


def test_a_new_selection_of_a_live_duplicate_gives_its_id(app, client, monkeypatch):
    pipeline = app.extensions["pipeline"]
    session_id = make_run(app, state="completed")
    live = "f" * 32
    monkeypatch.setattr(pipeline.runner, "find_active",
                        lambda url, stages: (live, "queued") if list(stages) == [4] else None)
    answer = client.post(f"/api/pipeline/reselect/{session_id}", json={})
    assert answer.status_code == 202
    assert answer.get_json()["session_id"] == live


def test_a_run_is_refused_when_the_queue_is_full(client, full_queue, media_server):
    answer = client.post("/pipeline/execute", json={"youtube_url": f"{media_server}/speech.mp4",
                                                    "selected_stages": [1]})
    assert answer.status_code == 429


def test_vad_filter_off_reaches_stage_2_as_off(app, client, speech_url):
    """The checked option, not the raw text, decides the transcription's parameters."""
    session_id = start_run(client, speech_url, [1, 2], episode_directory="vad-off", options={
        "vad_filter": "off", "condition_on_previous_text": "false", "force": True})
    assert wait_state(client, session_id, ENDED)["state"] == "completed"
    from storage.database import db
    from storage.models import Run

    with app.app_context():
        run = db.session.scalar(db.select(Run).where(Run.session_id == session_id))
        parameters = next(s.parameters for s in run.stage_runs if s.stage == 2)
    assert parameters["vad_filter"] is False
    assert parameters["condition_on_previous_text"] is False


SPY = """
import sys
import run
from services.engine.thread_runner import ThreadRunner
from orchestration.pipeline import Pipeline

calls = []
start_checked = Pipeline.start_checked
def spy(self, checked, state="queued"):
    calls.append(checked.spec.stages)
    return start_checked(self, checked, state)
Pipeline.start_checked = spy
if sys.argv[1] == "full":
    ThreadRunner.queued_count = lambda self: 10 ** 6
code = run.main(sys.argv[2:])
print("start_checked calls:", calls, file=sys.stderr)
sys.exit(code)
"""


def _cli(mode, data_dir, *args):
    return subprocess.run([sys.executable, "-c", SPY, mode, "--data-dir", str(data_dir),
                           "process", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)


def test_the_command_line_starts_through_the_locked_path(tmp_path, media_server):
    result = _cli("spy", tmp_path, f"{media_server}/speech.mp4", "--stages", "1")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "start_checked calls: [[1]]" in result.stderr


def test_the_command_line_keeps_the_queue_limit(tmp_path, media_server):
    result = _cli("full", tmp_path, f"{media_server}/speech.mp4", "--stages", "1")
    assert result.returncode != 0
    assert "already waiting" in result.stderr
    assert not list((tmp_path / "episodes").glob("*/source.*"))


def test_both_runners_implement_the_runner_interface(app):
    from orchestration.rq_runner import RqRunner
    from services.engine.runner import Runner
    from services.engine.thread_runner import ThreadRunner

    assert isinstance(app.extensions["pipeline"].runner, Runner)
    members = [name for name in vars(Runner) if not name.startswith("_")]
    assert len(members) >= 9
    for runner in (ThreadRunner, RqRunner):
        missing = [name for name in members if not callable(getattr(runner, name, None))]
        assert not missing, f"{runner.__name__} lacks {missing}"


def test_every_web_start_path_stores_its_run_under_the_start_lock(app, client, monkeypatch):
    """/pipeline/execute, a batch and a new selection: each run is stored (queued) while the
    start lock is held, the lock that also covers the duplicate check and the queue limit."""
    pipeline = app.extensions["pipeline"]
    stored, queue = [], pipeline.lifecycle.queue

    def watched(spec, *args, **kwargs):
        stored.append((spec.session_id, pipeline._start_lock._is_owned()))
        return queue(spec, *args, **kwargs)

    monkeypatch.setattr(pipeline.lifecycle, "queue", watched)
    monkeypatch.setattr(pipeline.runner, "submit", lambda spec: "queued")   # nothing runs
    finished = make_run(app, state="completed")
    answers = [
        client.post("/pipeline/execute", json={"youtube_url": "https://ok.example/one.mp4",
                                               "selected_stages": [1]}),
        client.post("/pipeline/execute", json={"urls": "https://ok.example/a.mp4\n"
                                               "https://ok.example/b.mp4", "selected_stages": [1]}),
        client.post(f"/api/pipeline/reselect/{finished}", json={}),
    ]
    try:
        assert [answer.status_code for answer in answers] == [202, 202, 202]
        assert len(stored) == 4 and all(owned for _session_id, owned in stored)
    finally:
        for session_id, _owned in stored:   # leave nothing queued for the tests that follow
            pipeline.lifecycle.cancel_queued(session_id)
