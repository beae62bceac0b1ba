"""Socket.IO messages: errors for bad messages, ping/pong, cancel, failure events."""
import uuid

import pytest

from tests.server_support import start_run, wait_state


@pytest.mark.parametrize("message, code", [
    (None, "invalid_message"),
    ("a string", "invalid_message"),
    ([1, 2], "invalid_message"),
    ({}, "invalid_session_id"),
    ({"session_id": 5}, "invalid_session_id"),
    ({"session_id": ""}, "invalid_session_id"),
    ({"session_id": "x" * 500}, "invalid_session_id"),
    ({"session_id": "no-such-run"}, "unknown_run"),
    ({"session_id": "no-such-run", "last_seq": -3}, "invalid_last_seq"),
    ({"session_id": "no-such-run", "last_seq": "ten"}, "invalid_last_seq"),
    ({"session_id": "no-such-run", "last_seq": True}, "invalid_last_seq"),
])
def test_subscribe_with_a_bad_message_gets_an_error_event(socketio_client, message, code):
    client = socketio_client()
    client.emit("subscribe", message)
    error = client.wait_kind("request_error", timeout=5)
    assert error["error"]["code"] == code
    assert error["error"]["message"]
    assert client.sio.connected


@pytest.mark.parametrize("kind", ["cancel", "unsubscribe"])
def test_other_messages_check_their_session_id(socketio_client, kind):
    client = socketio_client()
    client.emit(kind, {"session_id": 12})
    assert client.wait_kind("request_error", timeout=5)["error"]["code"] == "invalid_session_id"


def test_ping_is_answered_with_pong(socketio_client):
    client = socketio_client()
    client.emit("ping", {"t": 1234.5})
    pong = client.wait_kind("pong", timeout=5)
    assert pong["t"] == 1234.5
    assert pong["server_time"].endswith("Z")


def test_ping_with_junk_still_gets_pong(socketio_client):
    client = socketio_client()
    client.emit("ping", {"t": {"nested": True}})
    assert client.wait_kind("pong", timeout=5)["t"] is None


def test_polling_transport_also_works(socketio_client):
    client = socketio_client(transports=("polling",))
    client.emit("ping", {"t": 1})
    assert client.wait_kind("pong", timeout=10)["t"] == 1


def test_a_failing_download_ends_failed_with_an_error_event(live_server, media_server, socketio_client, client):
    session_id = start_run(live_server, f"{media_server}/missing.mp4", [1],
                           episode_directory=f"fail-{uuid.uuid4().hex[:6]}")
    watcher = socketio_client()
    watcher.emit("subscribe", {"session_id": session_id})
    completion = watcher.wait_kind("pipeline_completion", timeout=60)
    assert completion["status"] == "failed"
    error = watcher.wait_kind("pipeline_error", timeout=1)
    assert error["stage"] == 1
    assert "404" in error["error"]["message"] or "Not Found" in error["error"]["message"]
    snapshot = wait_state(client, session_id)
    assert snapshot["state"] == "failed" and snapshot["error"]
    assert snapshot["stages"][0]["status"] == "failed"


def test_cancel_over_the_socket_stops_the_run(live_server, speech_url, socketio_client, client):
    session_id = start_run(live_server, speech_url, [1, 2],
                           episode_directory=f"cancel-{uuid.uuid4().hex[:6]}")
    watcher = socketio_client()
    watcher.emit("subscribe", {"session_id": session_id})
    watcher.wait_for(lambda got: any(k == "pipeline_progress" for k, *_ in got), timeout=30)
    watcher.emit("cancel", {"session_id": session_id})
    result = watcher.wait_kind("cancel_result", timeout=5)
    assert result["status"] in ("cancelling", "cancelled")
    completion = watcher.wait_kind("pipeline_completion", timeout=60)
    assert completion["status"] == "cancelled"
    assert wait_state(client, session_id)["state"] == "cancelled"
    for path in (f"/pipeline/interrupt/{session_id}", f"/api/pipeline/cancel/{session_id}"):
        again = client.post(path, json={})
        assert again.status_code == 200 and again.get_json()["status"] == "cancelled"
