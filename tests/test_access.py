"""Access rules: loopback by default, a token otherwise, same-origin sockets, CSRF on forms."""
import subprocess
import sys
from pathlib import Path

import pytest
import socketio

from services.config.loading import ConfigError
from tests.server_support import csrf_token
from webui.access import check_bind, is_loopback

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.5.0.1", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False),
                                            ("192.168.1.4", False), ("example.com", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_binding_beyond_loopback_needs_a_token():
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", "s3cret")
    with pytest.raises(ConfigError, match="auth_token"):
        check_bind("0.0.0.0", None)


def test_server_refuses_to_start_on_all_addresses_without_a_token(tmp_path):
    result = subprocess.run([sys.executable, "run.py", "--host", "0.0.0.0", "--port", "0",
                             "--data-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "auth_token" in result.stderr


@pytest.fixture
def token(app, monkeypatch):
    monkeypatch.setitem(app.config["PIPELINE"]["server"], "auth_token", "s3cret-token")
    return "s3cret-token"


def test_with_a_token_http_requests_need_it(client, token):
    assert client.get("/healthz").status_code == 200
    response = client.get("/api/pipeline/status/whatever")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert client.get("/api/pipeline/status/whatever", headers={"X-Auth-Token": token}).status_code == 404
    assert client.get("/api/pipeline/status/whatever",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert client.get("/api/pipeline/status/whatever", headers={"X-Auth-Token": "wrong"}).status_code == 401
    page = client.get("/")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_login_page_sets_the_session(client, token):
    csrf = csrf_token(client, "/login?next=/")
    wrong = client.post("/login?next=/", data={"token": "nope", "csrf_token": csrf})
    assert wrong.status_code == 400 and "not right" in wrong.get_data(as_text=True)
    right = client.post("/login?next=/", data={"token": token, "csrf_token": csrf})
    assert right.status_code == 302 and right.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_redirect_stays_on_this_site(client, token):
    page = client.get("/login?next=//evil.example/").get_data(as_text=True)
    assert "evil.example" not in page


def test_with_a_token_sockets_need_it(live_server, token):
    refused = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(live_server.url, transports=["websocket"], wait_timeout=5)
    allowed = socketio.Client(reconnection=False)
    allowed.connect(live_server.url, transports=["websocket"], auth={"token": token}, wait_timeout=5)
    assert allowed.connected
    allowed.eio.disconnect(abort=True)


def test_sockets_from_another_origin_are_refused(live_server):
    foreign = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        foreign.connect(live_server.url, transports=["polling"], headers={"Origin": "http://evil.example"},
                        wait_timeout=5)
    same = socketio.Client(reconnection=False)
    same.connect(live_server.url, transports=["polling"], headers={"Origin": live_server.url}, wait_timeout=5)
    assert same.connected
    same.disconnect()
