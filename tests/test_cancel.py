"""Cancel stops a run within one second at any stage, from each entry point, and cleans up."""
import os
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import RecordingClient
from tests.media_support import MediaServer, child_processes, looped_speech
from tests.server_support import start_run, wait_state

CANCEL_BOUND = 1.0


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    folder = tmp_path_factory.mktemp("media")
    looped_speech(folder, "speech-3min.m4a", 8)     # ~3 min: transcription takes seconds
    looped_speech(folder, "speech-57min.m4a", 150)  # ~57 min: audio extraction takes seconds
    server = MediaServer(folder)
    yield server
    server.close()


def cancel_via(entry, live_server, watcher, session_id):
    if entry == "interrupt":
        answer = requests.post(f"{live_server.url}/pipeline/interrupt/{session_id}", json={}, timeout=5)
    elif entry == "cancel":
        answer = requests.post(f"{live_server.url}/api/pipeline/cancel/{session_id}", json={}, timeout=5)
    else:
        watcher.emit("cancel", {"session_id": session_id})
        return watcher.wait_kind("cancel_result", timeout=5)["status"]
    assert answer.status_code == 200
    return answer.json()["status"]


@pytest.mark.parametrize("path, stages, sub_stage, entry, stage_outputs", [
    ("/slow/speech.mp4", [1, 2], "Downloading media", "interrupt", ["source.", "audio"]),
    ("/speech-57min.m4a", [1, 2], "Extracting audio", "cancel", ["audio"]),
    ("/speech-3min.m4a", [1, 2], "Transcribing", "socket", ["transcript"]),
    ("/speech-3min.m4a", [1, 2], "Loading model", "interrupt", ["transcript"]),
])
def test_cancel_mid_stage_is_quick_and_clean(live_server, media, path, stages, sub_stage, entry,
                                             stage_outputs):
    episode = f"cancel-{uuid.uuid4().hex[:8]}"
    session_id = start_run(live_server, media.url + path, stages, episode_directory=episode)
    watcher = RecordingClient(live_server.url).connect()
    try:
        watcher.emit("subscribe", {"session_id": session_id})

        def reached(received):
            return any(kind == "pipeline_progress" and data["sub_stage"] == sub_stage and (
                sub_stage != "Downloading media" or data["sub_progress"]) for kind, data, _ in received)

        watcher.wait_for(reached, timeout=120)
        asked = time.monotonic()
        status = cancel_via(entry, live_server, watcher, session_id)
        assert status == "cancelling"
        watcher.wait_for(lambda got: any(k == "pipeline_completion" for k, *_ in got), timeout=10)
        done_at = next(at for kind, _, at in watcher.received if kind == "pipeline_completion")
        completion = next(data for kind, data, _ in watcher.received if kind == "pipeline_completion")
    finally:
        watcher.disconnect()
    assert completion["status"] == "cancelled"
    assert done_at - asked <= CANCEL_BOUND, f"cancel took {done_at - asked:.2f} s"

    assert child_processes(os.getpid()) == []
    folder = Path(live_server.app.config["PIPELINE"]["data_dir"]) / "episodes" / episode
    names = sorted(p.name for p in folder.iterdir())
    for prefix in stage_outputs:
        assert not [n for n in names if n.startswith(prefix)], names
    assert not [n for n in names if n.endswith(".part")], names
    if sub_stage in ("Transcribing", "Loading model"):
        assert {"audio.wav", "audio_hq.flac", "metadata.json"} <= set(names)  # stage 1 kept

    snapshot = requests.get(f"{live_server.url}/api/pipeline/status/{session_id}", timeout=5).json()
    assert snapshot["state"] == "cancelled"
    cancelled_stage = 1 if sub_stage in ("Downloading media", "Extracting audio") else 2
    assert snapshot["stages"][cancelled_stage - 1]["status"] == "cancelled"
    for again in ("interrupt", "cancel"):
        assert cancel_via(again, live_server, None, session_id) == "cancelled"


def test_cancel_of_a_finished_run_is_not_running(live_server, speech_url, client):
    session_id = start_run(live_server, speech_url, [1], episode_directory=f"done-{uuid.uuid4().hex[:6]}")
    assert wait_state(client, session_id)["state"] == "completed"
    assert client.post(f"/api/pipeline/cancel/{session_id}", json={}).get_json()["status"] == "not_running"
