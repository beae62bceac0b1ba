"""A cancelled run's page offers Resume; the form resumes the same run to completion."""
import uuid

from tests.conftest import RecordingClient
from tests.server_support import csrf_token, start_run, wait_state


def test_resume_button_finishes_a_cancelled_run(live_server, speech_url, client):
    session_id = start_run(live_server, speech_url + "?resume", [1, 2],
                           episode_directory=f"resume-{uuid.uuid4().hex[:6]}")
    watcher = RecordingClient(live_server.url).connect()
    try:
        watcher.emit("subscribe", {"session_id": session_id})
        watcher.wait_for(lambda got: any(k == "pipeline_transition" and d["to_stage"] == 2
                                         for k, d, _ in got), timeout=60)
        client.post(f"/api/pipeline/cancel/{session_id}", json={})
    finally:
        watcher.disconnect()
    assert wait_state(client, session_id)["state"] == "cancelled"

    page = client.get(f"/runs/{session_id}").get_data(as_text=True)
    assert "Resume from the last completed stage" in page
    answer = client.post(f"/api/pipeline/resume/{session_id}", data={"csrf_token": csrf_token(client, f"/runs/{session_id}")},
                         headers={"Accept": "text/html"})
    assert answer.status_code == 303 and session_id in answer.headers["Location"]
    final = wait_state(client, session_id)
    assert final["state"] == "completed"
    assert [s["status"] for s in final["stages"]] == ["completed", "completed"]
    assert "Resume from the last completed stage" not in client.get(f"/runs/{session_id}").get_data(as_text=True)
    events = client.get(f"/api/pipeline/events/{session_id}").get_json()["events"]
    assert [e["data"]["seq"] for e in events] == list(range(1, len(events) + 1))
    completions = [e["data"]["status"] for e in events if e["event"] == "pipeline_completion"]
    assert completions == ["cancelled", "completed"]
