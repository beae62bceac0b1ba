"""At most max_concurrent_runs (1) run at once; others wait in order; duplicates are folded."""
import uuid

import pytest
import requests

from tests.media_support import MediaServer
from tests.server_support import wait_for, wait_state


@pytest.fixture(scope="module")
def slow_media(tmp_path_factory):
    server = MediaServer(tmp_path_factory.mktemp("queue-media"))
    yield server
    server.close()


def post(live_server, body):
    response = requests.post(f"{live_server.url}/pipeline/execute", json=body, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def test_runs_wait_in_order_and_duplicates_return_the_active_run(live_server, slow_media, client):
    first = post(live_server, {"youtube_url": f"{slow_media.url}/slow/speech.mp4?a", "selected_stages": [1],
                               "episode_directory": f"q1-{uuid.uuid4().hex[:6]}"})
    second = post(live_server, {"youtube_url": f"{slow_media.url}/slow/speech.mp4?b", "selected_stages": [1],
                                "episode_directory": f"q2-{uuid.uuid4().hex[:6]}"})
    third = post(live_server, {"youtube_url": f"{slow_media.url}/speech.mp4?c", "selected_stages": [1],
                               "episode_directory": f"q3-{uuid.uuid4().hex[:6]}"})
    assert first["status"] == "started"
    assert second["status"] == third["status"] == "queued"
    positions = [client.get(f"/api/pipeline/status/{run['session_id']}").get_json()["queue_position"]
                 for run in (first, second, third)]
    assert positions == [None, 1, 2]

    duplicate = post(live_server, {"youtube_url": f"{slow_media.url}/slow/speech.mp4?b", "selected_stages": [1]})
    assert duplicate == {**second, "duplicate": True}
    running_duplicate = post(live_server, {"youtube_url": f"{slow_media.url}/slow/speech.mp4?a",
                                           "selected_stages": [1]})
    assert running_duplicate["session_id"] == first["session_id"]
    assert running_duplicate["status"] == "started"

    snapshots = [wait_state(client, run["session_id"]) for run in (first, second, third)]
    assert [s["state"] for s in snapshots] == ["completed"] * 3
    for earlier, later in zip(snapshots, snapshots[1:]):
        assert later["started_at"] >= earlier["finished_at"]


def test_a_queued_run_can_be_cancelled_before_it_starts(live_server, slow_media, client):
    first = post(live_server, {"youtube_url": f"{slow_media.url}/slow/speech.mp4?x", "selected_stages": [1],
                               "episode_directory": f"qc-{uuid.uuid4().hex[:6]}"})
    waiting = post(live_server, {"youtube_url": f"{slow_media.url}/speech.mp4?y", "selected_stages": [1],
                                 "episode_directory": f"qc-{uuid.uuid4().hex[:6]}"})
    assert waiting["status"] == "queued"
    answer = client.post(f"/api/pipeline/cancel/{waiting['session_id']}", json={}).get_json()
    assert answer["status"] == "cancelled"
    events = client.get(f"/api/pipeline/events/{waiting['session_id']}").get_json()["events"]
    assert [e["event"] for e in events] == ["pipeline_completion"]
    assert events[0]["data"]["status"] == "cancelled" and events[0]["data"]["seq"] == 1
    assert wait_state(client, first["session_id"])["state"] == "completed"
    runner = live_server.app.extensions["pipeline"].runner   # settled: nothing left to start
    wait_for(lambda: not runner.running and not runner.queued, timeout=30)
    assert client.get(f"/api/pipeline/status/{waiting['session_id']}").get_json()["started_at"] is None
