"""Runs stay whole under failure and load: a run slot is always given back, progress never
falls across a resume, one run at a time works in an episode folder, checkpoint writes are
atomic, the queue is capped, a download is held to the size limit by the bytes received,
unknown ids make no locks, and a long replay does not hold the run's lock."""
import http.server
import json
import os
import sqlite3
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import requests
from sqlalchemy import insert

from services.engine.checkpoints import Checkpoints
from services.engine.controller import PipelineController
from services.engine.events import EventRecorder
from services.engine.run_spec import RunSpec
from services.engine.thread_runner import ThreadRunner
from storage.database import db
from storage.models import Event
from tests.conftest import FIXTURES, RecordingClient, cancel_during
from tests.media_support import media_url
from tests.server_support import (
    HangingHandler,
    loopback_http,
    start_run,
    start_server,
    wait_for,
    wait_state,
)


# --- a run slot is always given back -----------------------------------------------------------
class MemoryStore:
    """Events in memory; every final update of a run fails, like a database gone away."""

    def __init__(self):
        self.events = {}

    def last_seq(self, session_id):
        return len(self.events.get(session_id, []))

    def append_event(self, session_id, seq, kind, event):
        self.events.setdefault(session_id, []).append((seq, kind, event))

    def update_run(self, session_id, finished=False, **fields):
        if finished:
            raise RuntimeError("database is gone")

    def update_stage(self, *args, **kwargs):
        pass


def test_a_failure_while_ending_a_run_still_frees_its_slot(tmp_path):
    store = MemoryStore()
    recorder = EventRecorder(store)
    settings = {"data_dir": str(tmp_path), "download": {}, "limits": {}, "whisper": {}}
    ended = []

    def make(spec, on_finished):
        def finished(controller):
            ended.append(controller.spec.session_id)
            on_finished(controller)
        return PipelineController(spec, settings, recorder, store, on_finished=finished)

    manager = ThreadRunner(make, recorder, store, max_concurrent=1)
    specs = [RunSpec(session_id=f"run{n}", url="http://127.0.0.1:9/none.mp4", stages=[1],
                     episode_dir=tmp_path / f"episode{n}") for n in range(2)]
    assert [manager.submit(spec) for spec in specs] == ["started", "queued"]
    wait_for(lambda: len(ended) >= 2, timeout=30, interval=0.05)
    assert ended == ["run0", "run1"]      # the second run got the slot the first gave back
    manager.wait_idle(5)
    assert not manager.running and not manager.queued
    for session_id in ("run0", "run1"):
        kinds = [kind for _, kind, _ in store.events[session_id]]
        assert kinds[-1] == "pipeline_completion"
        completion = store.events[session_id][-1][2]
        assert completion["status"] == "failed" and completion["error"]


# --- progress and elapsed time across a resume --------------------------------------------------
def test_progress_and_elapsed_never_fall_across_a_resume(live_server, client, any_media):
    url = media_url(any_media, "long")
    session_id = start_run(live_server, url, [1, 2])
    cancel_during(live_server.url, session_id, "Transcribing", timeout=120)
    assert wait_state(client, session_id)["state"] == "cancelled"
    before = client.get(f"/api/pipeline/events/{session_id}").get_json()["events"]
    shown = max(e["data"]["progress"] for e in before if e["event"] == "pipeline_progress")
    worked = max(e["data"]["time_elapsed"] for e in before if e["event"] == "pipeline_progress")
    time.sleep(2)   # kept: the clock moves on while the run is stopped, and must not count it
    assert client.post(f"/api/pipeline/resume/{session_id}", json={}).status_code == 202
    assert wait_state(client, session_id, timeout=180)["state"] == "completed"
    after = client.get(f"/api/pipeline/events/{session_id}?since={before[-1]['data']['seq']}").get_json()["events"]
    resumed = [e["data"] for e in after if e["event"] == "pipeline_progress"]
    assert resumed and min(e["progress"] for e in resumed) >= shown
    assert all(b["progress"] >= a["progress"] for a, b in zip(resumed, resumed[1:]))
    assert worked <= resumed[0]["time_elapsed"] < worked + 1.5


# --- one run per episode folder, atomic checkpoints, three at once -------------------------------
def test_three_concurrent_runs_never_share_an_episode_folder(tmp_path, media_server):
    env = dict(os.environ, PIPELINE_MAX_CONCURRENT_RUNS="3")
    server, url = start_server(tmp_path / "data", tmp_path / "server.log", env=env)
    try:
        speech = f"{media_server}/speech.mp4?together"
        bodies = [{"youtube_url": speech, "selected_stages": [1]},
                  {"youtube_url": speech, "selected_stages": [1, 2]},
                  {"youtube_url": f"{media_server}/topics.m4a?together", "selected_stages": [1]}]
        answers = [requests.post(f"{url}/pipeline/execute", json=b, timeout=10).json() for b in bodies]
        assert [a["status"] for a in answers] == ["started", "queued", "started"]
        waiting = requests.get(f"{url}/api/pipeline/status/{answers[1]['session_id']}", timeout=5).json()
        assert "same episode folder" in waiting["queue_reason"]
        for answer in answers:
            assert wait_state(url, answer["session_id"], ("completed", "failed"), 180)["state"] == "completed"
    finally:
        server.terminate()
        server.wait(30)
    with sqlite3.connect(tmp_path / "data" / "pipeline.db") as connection:
        rows = {session: (start, end) for session, start, end in connection.execute(
            "SELECT session_id, started_at, finished_at FROM run")}
    times = [tuple(datetime.fromisoformat(t) for t in rows[a["session_id"]]) for a in answers]
    assert times[1][0] >= times[0][1]       # the second run of the folder began after the first
    assert times[2][0] < times[0][1]        # another folder's run went on meanwhile
    folder = tmp_path / "data" / "episodes"
    for checkpoints in folder.glob("*/checkpoints.json"):
        json.loads(checkpoints.read_text())
    assert not list(folder.glob("*/.checkpoints.json.*.part"))


def test_checkpoint_writes_from_many_threads_all_land(tmp_path):
    record = Checkpoints(tmp_path)
    keys = [f"stage{n}" for n in range(40)]
    threads = [threading.Thread(target=record.record, args=(key, {"n": key}, [])) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(json.loads((tmp_path / "checkpoints.json").read_text())) == sorted(keys)
    assert not list(tmp_path.glob(".checkpoints.json.*"))


# --- the queue is capped ---------------------------------------------------------------------------


def test_the_queue_is_capped_with_a_clear_429(live_server, client, monkeypatch):
    monkeypatch.setitem(live_server.app.config["PIPELINE"]["limits"], "max_queued_runs", 1)
    with loopback_http(HangingHandler) as slow:
        ids = []
        for number in range(2):
            answer = client.post("/pipeline/execute", json={
                "youtube_url": f"{slow}/slow{number}.mp4", "selected_stages": [1]})
            assert answer.status_code == 202
            ids.append(answer.get_json()["session_id"])
        refused = client.post("/pipeline/execute", json={
            "youtube_url": f"{slow}/slow2.mp4", "selected_stages": [1]})
        assert refused.status_code == 429
        error = refused.get_json()["error"]
        assert error["code"] == "queue_full" and "1 runs are already waiting" in error["message"]
        for session_id in reversed(ids):
            client.post(f"/api/pipeline/cancel/{session_id}", json={})
        for session_id in ids:
            assert wait_state(client, session_id, timeout=30)["state"] == "cancelled"


# --- the size limit holds without a Content-Length ---------------------------------------------------
class NoLengthHandler(http.server.BaseHTTPRequestHandler):
    """Sends a media file with no Content-Length, as a stream that ends when the file does."""

    protocol_version = "HTTP/1.0"

    def do_GET(self):
        data = (FIXTURES / "topics.m4a").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "audio/mp4")
        self.end_headers()
        try:
            for start in range(0, len(data), 65536):
                self.wfile.write(data[start:start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def test_a_download_without_content_length_stops_at_the_size_limit(live_server, client, monkeypatch):
    monkeypatch.setitem(live_server.app.config["PIPELINE"]["limits"], "max_size_mb", 0.5)
    episode = f"nolength-{uuid.uuid4().hex[:6]}"
    with loopback_http(NoLengthHandler) as server:
        session_id = start_run(client, f"{server}/stream.m4a", [1], episode_directory=episode)
        snapshot = wait_state(client, session_id, timeout=60)
    assert snapshot["state"] == "failed" and "limits.max_size_mb" in snapshot["error"]
    folder = Path(live_server.app.config["PIPELINE"]["data_dir"]) / "episodes" / episode
    assert [p.name for p in folder.iterdir()] == []


# --- no lock for an unknown id; a long replay does not hold the run's lock ------------------------------
def test_unknown_ids_make_no_locks(live_server, client, socketio_client):
    recorder = live_server.app.extensions["pipeline"].recorder
    before = len(recorder._locks)
    for number in range(50):
        unknown = uuid.uuid4().hex
        client.get(f"/api/pipeline/status/{unknown}")
        client.post(f"/api/pipeline/cancel/{unknown}", json={})
        client.post(f"/api/pipeline/resume/{unknown}", json={})
        client.post(f"/runs/{unknown}/segments", json={"segments": [{"start": 0, "end": 20}]})
    watcher = socketio_client()
    for number in range(20):
        watcher.emit("subscribe", {"session_id": uuid.uuid4().hex})
    watcher.wait_for(lambda got: sum(k == "request_error" for k, *_ in got) >= 20, timeout=20)
    assert len(recorder._locks) == before


def test_a_long_replay_runs_without_the_runs_lock(live_server, client, speech_url):
    pipeline = live_server.app.extensions["pipeline"]
    session_id = start_run(client, speech_url + "?replay", [1])
    wait_state(client, session_id)
    first = pipeline.store.last_seq(session_id) + 1
    rows = [{"session_id": session_id, "seq": seq, "kind": "log_stream", "timestamp": "2026-01-01T00:00:00Z",
             "payload": {"level": "INFO", "message": f"line {seq}", "logger": "test", "seq": seq,
                         "session_id": session_id, "timestamp": "2026-01-01T00:00:00Z"}}
            for seq in range(first, first + 3000)]   # a long history, as an hour of logging leaves
    with live_server.app.app_context():
        db.session.execute(insert(Event), rows)
        db.session.commit()
    pipeline.recorder.forget(session_id)
    lock = pipeline.recorder.locked(session_id)
    calls = []
    original = pipeline.store.events_since

    def watched(sid, since=0, limit=None, until=None):
        found = original(sid, since, limit, until)
        probe = []

        def try_lock():
            got = lock.acquire(timeout=0.05)
            probe.append(got)
            if got:
                lock.release()

        thread = threading.Thread(target=try_lock)
        thread.start()
        thread.join()
        calls.append((len(found), not probe[0]))   # (events, lock held by the subscriber)
        return found

    pipeline.store.events_since = watched
    try:
        watcher = RecordingClient(live_server.url).connect()
        watcher.emit("subscribe", {"session_id": session_id, "last_seq": 0})
        watcher.wait_for(lambda got: len([1 for k, d, _ in got if isinstance(d, dict) and "seq" in d])
                         >= 3000, timeout=60)
        watcher.disconnect()
    finally:
        pipeline.store.events_since = original
    held = [count for count, locked in calls if locked]
    free = [count for count, locked in calls if not locked]
    assert free and max(free) >= 3000      # the replay was read without the lock …
    assert held and max(held) <= 5         # … and only the tail under it


def test_json_answers_keep_their_built_order(client):
    text = client.post("/pipeline/execute", json={"youtube_url": "ftp://x"}).get_data(as_text=True)
    assert text.index('"message"') < text.index('"field"')   # sorted keys would put field first
    listed = client.get("/api/presets").get_data(as_text=True)
    assert listed.index('"presets"') < listed.index('"fields"')
