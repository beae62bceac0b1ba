"""A server killed with SIGKILL mid-transcription loses nothing; the run resumes from stage 2."""
import json
import os
import signal
import sqlite3

import requests

from tests.conftest import RecordingClient
from tests.media_support import three_minute_media as media  # noqa: F401 - a fixture
from tests.server_support import start_run, start_server, wait_for, wait_state


def test_kill_9_mid_transcription_then_restart_and_resume(tmp_path, media):
    data_dir = tmp_path / "data"
    log_path = tmp_path / "server.log"
    server, url = start_server(data_dir, log_path)
    try:
        session_id = start_run(url, f"{media.url}/speech-3min.m4a", [1, 2])
        watcher = RecordingClient(url).connect()
        watcher.emit("subscribe", {"session_id": session_id})
        watcher.wait_for(lambda got: any(k == "pipeline_progress" and d["sub_stage"] == "Transcribing"
                                         for k, d, _ in got), timeout=120)
        watcher.disconnect()
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()

    def workers():
        return [p for p in os.popen("ps -eo args").read().splitlines()
                if "services.workers.transcribe" in p and str(data_dir) in p]

    # the transcription worker dies with its parent thread
    wait_for(lambda: workers() == [], timeout=10, interval=0.1)
    assert workers() == []
    database = data_dir / "pipeline.db"
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        state = connection.execute("SELECT state FROM run WHERE session_id = ?", (session_id,)).fetchone()
        assert state == ("running",)
        seqs = [row[0] for row in connection.execute(
            "SELECT seq FROM event WHERE session_id = ? ORDER BY seq", (session_id,))]
    assert seqs == list(range(1, len(seqs) + 1))

    server, url = start_server(data_dir, log_path)
    try:
        snapshot = requests.get(f"{url}/api/pipeline/status/{session_id}", timeout=5).json()
        assert snapshot["state"] == "interrupted"
        assert "stage 2" in snapshot["error"]
        assert [s["status"] for s in snapshot["stages"]] == ["completed", "interrupted"]
        folder = data_dir / "episodes" / snapshot["episode_directory"]
        downloaded_at = json.loads((folder / "metadata.json").read_text())["downloaded_at"]
        source_mtime = next(folder.glob("source.*")).stat().st_mtime

        answer = requests.post(f"{url}/api/pipeline/resume/{session_id}", json={}, timeout=5)
        assert answer.status_code == 202 and answer.json()["status"] in ("started", "queued")
        final = wait_state(url, session_id, ("completed", "failed"))
        assert final["state"] == "completed", final["error"]
        assert [s["status"] for s in final["stages"]] == ["completed", "completed"]
        assert json.loads((folder / "metadata.json").read_text())["downloaded_at"] == downloaded_at
        assert next(folder.glob("source.*")).stat().st_mtime == source_mtime
        transcript = json.loads((folder / "transcript.json").read_text())
        # All of the recording is transcribed (eight loops of the fixture, "coffee" twice in each).
        assert transcript["text"].lower().count("coffee") >= 4
        assert transcript["segments"][-1]["end"] >= 0.8 * transcript["duration"]

        events = requests.get(f"{url}/api/pipeline/events/{session_id}", timeout=5).json()["events"]
        assert [e["data"]["seq"] for e in events] == list(range(1, len(events) + 1))
        assert any(e["event"] == "pipeline_error" and e["data"]["error"]["type"] == "Interrupted"
                   for e in events)
        assert events[-1]["event"] == "pipeline_completion"
        assert events[-1]["data"]["status"] == "completed"

        again = requests.post(f"{url}/api/pipeline/resume/{session_id}", json={}, timeout=5)
        assert again.status_code == 409
    finally:
        server.terminate()
        server.wait(10)
