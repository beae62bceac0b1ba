"""Outside text that looks like a number or a token, and where a login may send the browser:
never a 500, never another site."""
import json
import re
from urllib.parse import quote, urljoin, urlsplit

import pytest
import socketio

from services.config.loading import ConfigError, load_settings
from tests.server_support import start_run

SUPERSCRIPT_TWO = "\u00b2"   # "²": str.isdigit() is true, int() refuses it


# --- numbers from outside: ASCII digits only ---------------------------------------------------
@pytest.mark.parametrize("stages", [[SUPERSCRIPT_TWO], SUPERSCRIPT_TWO, ["1", "\u0661"],
                                    ["0" * 5000 + "1"], [2 ** 70], [-(2 ** 70)]])
def test_stage_numbers_are_ascii_digits(client, media_server, stages):
    body = {"youtube_url": f"{media_server}/speech.mp4", "selected_stages": stages}
    response = client.post("/pipeline/execute", json=body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["field"] == "selected_stages"


def test_preset_stages_with_a_non_ascii_digit_are_refused(client):
    response = client.post("/api/presets", json={"name": "superscript", "stages": [SUPERSCRIPT_TWO]})
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "stages" in response.get_data(as_text=True)


@pytest.mark.parametrize("page", [SUPERSCRIPT_TWO, "\u0662", "\uff12", "1" * 5000, "-1", "0"])
def test_history_page_number_is_ascii_digits(client, page):
    response = client.get(f"/runs?page={quote(page)}")
    assert response.status_code == 200
    assert "Page 1 of" in response.get_data(as_text=True) or "<" in response.get_data(as_text=True)


@pytest.mark.parametrize("since", [SUPERSCRIPT_TWO, "\u0662", "\uff12", "9" * 30, "-1", " 1"])
def test_events_since_is_ascii_digits(client, since):
    response = client.get(f"/api/pipeline/events/whatever?since={quote(since)}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "invalid_since"


def test_subscribe_with_a_huge_last_seq_is_a_request_error(client, media_server, socketio_client):
    session_id = start_run(client, f"{media_server}/speech.mp4", [1],
                           episode_directory="huge-last-seq")
    client.post(f"/api/pipeline/cancel/{session_id}", json={})
    sio = socketio_client()
    for last_seq in (2 ** 70, 2 ** 63, -(2 ** 70), 1.5, float("inf"), "7"):
        sio.emit("subscribe", {"session_id": session_id, "last_seq": last_seq})
    errors = sio.wait_for(lambda got: sum(k == "request_error" for k, *_ in got) >= 6, timeout=10)
    codes = [d["error"]["code"] for k, d, _ in errors if k == "request_error"]
    assert codes == ["invalid_last_seq"] * 6
    sio.emit("subscribe", {"session_id": session_id, "last_seq": 2 ** 63 - 1})
    assert sio.wait_kind("pipeline_snapshot", timeout=10)["session_id"] == session_id


# --- the access token: any text, compared as bytes; the configured one kept as text ------------
@pytest.fixture
def token(app, monkeypatch):
    monkeypatch.setitem(app.config["PIPELINE"]["server"], "auth_token", "s3cret-\u00e9t\u00e9")
    return "s3cret-\u00e9t\u00e9"


@pytest.mark.parametrize("sent", ["\u00e9", "s3cret-\u00e9t\u00e9x", "\u00ff" * 40, "\u0661\u0662"])
def test_non_ascii_tokens_are_refused_not_crashed(client, token, sent):
    by_header = client.get("/api/pipeline/status/whatever",
                           headers={"X-Auth-Token": sent.encode("utf-8").decode("latin-1")})
    assert by_header.status_code == 401
    by_query = client.get(f"/api/pipeline/status/whatever?token={quote(sent)}",
                          headers={"Accept": "application/json"})
    assert by_query.status_code == 401


def test_a_non_ascii_configured_token_works(client, token):
    response = client.get(f"/api/pipeline/status/whatever?token={quote(token)}")
    assert response.status_code == 404


def test_a_non_ascii_csrf_token_is_refused_not_crashed(client):
    with client.session_transaction() as stored:
        stored["csrf_token"] = "expected"
    response = client.post("/pipeline/execute", data={"csrf_token": "\u00e9t\u00e9",
                                                      "youtube_url": "http://127.0.0.1/x.mp4"})
    assert response.status_code == 403
    header = client.post("/pipeline/execute", data="x", content_type="text/plain",
                         headers={"X-CSRF-Token": "\u00e9t\u00e9".encode().decode("latin-1")})
    assert header.status_code == 403


def test_socket_tokens_of_any_type_are_refused(live_server, token):
    for auth in [{"token": "\u00e9"}, {"token": "\ud800"}, {"token": 12345}, {"token": None},
                 {"token": ["s3cret"]}, {"token": {"a": 1}}, {"token": True}, ["x"], "token"]:
        refused = socketio.Client(reconnection=False)   # (polling: closing a websocket takes 3 s)
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused.connect(live_server.url, transports=["polling"], auth=auth, wait_timeout=5)
    allowed = socketio.Client(reconnection=False)
    allowed.connect(live_server.url, transports=["websocket"], auth={"token": token}, wait_timeout=5)
    assert allowed.connected
    allowed.eio.disconnect(abort=True)


def test_a_numeric_configured_token_is_kept_as_text(tmp_path, app, monkeypatch, client):
    config = tmp_path / "config.yaml"
    config.write_text("server:\n  auth_token: 12345\n", encoding="utf-8")
    settings = load_settings(config, environ={})
    assert settings["server"]["auth_token"] == "12345"
    from_env = load_settings(config, environ={"PIPELINE_SERVER_AUTH_TOKEN": "678"})
    assert from_env["server"]["auth_token"] == "678"
    monkeypatch.setitem(app.config["PIPELINE"]["server"], "auth_token", settings["server"]["auth_token"])
    assert client.get("/api/pipeline/status/x", headers={"X-Auth-Token": "12345"}).status_code == 404
    assert client.get("/api/pipeline/status/x", headers={"X-Auth-Token": "\u00e9"}).status_code == 401


@pytest.mark.parametrize("text", ["true", "false", "yes"])
def test_a_boolean_configured_token_is_a_config_error(tmp_path, text):
    config = tmp_path / "config.yaml"
    config.write_text(f"server:\n  auth_token: {text}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="server.auth_token"):
        load_settings(config, environ={})


# --- after login, only this site -----------------------------------------------------------------
SITE = "http://127.0.0.1:5000/login"


def _login(client, raw_next):
    """Sign in through the form with `next` as sent in the query (percent-encoded)."""
    with client.session_transaction() as stored:
        stored["csrf_token"] = "form-token"
    return client.post(f"/login?next={raw_next}",
                       data={"token": "s3cret-\u00e9t\u00e9", "csrf_token": "form-token"})


def _where_a_browser_goes(location):
    """The URL a browser opens for a Location header: it drops tabs and newlines, trims
    control characters and spaces, and reads a backslash as a slash."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(33))))
    return urlsplit(urljoin(SITE, cleaned.replace("\\", "/")))


@pytest.mark.parametrize("raw_next", [
    "/%5Cevil.example", "//evil.example", "/%5C/evil", "%5C%5Cevil", "https://evil",
    "/%09evil", "/%09/evil.example", "%09//evil.example", "/%0A/evil", "/%0D/evil", "%20//evil",
    "https:/evil", "javascript:alert(1)", "/%00/evil", "/%7F/evil", "//evil%E3%80%82example",
    "%EF%BC%8F%EF%BC%8Fevil", "%5C/evil", "/%5C%5C/evil", "", "evil", "%ED%A0%80"])
def test_login_sends_the_browser_only_to_this_site(client, token, raw_next):
    response = _login(client, raw_next)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get(f"/login?next={raw_next}").get_data(as_text=True)
    assert 'action="/login?next=/"' in page


@pytest.mark.parametrize("raw_next, location", [
    ("/runs%3Fpage%3D2", "/runs?page=2"), ("/runs/abc", "/runs/abc"), ("/", "/"),
    ("/%255Cevil", "/%5Cevil"), ("/caf%C3%A9", "/caf%C3%A9"), ("/%E2%88%95evil", "/%E2%88%95evil"),
    ("/presets%23x", "/presets#x")])
def test_login_keeps_a_same_site_next(client, token, raw_next, location):
    response = _login(client, raw_next)
    assert response.status_code == 302
    assert response.headers["Location"] == location
    target = _where_a_browser_goes(response.headers["Location"])
    assert (target.scheme, target.netloc) == ("http", "127.0.0.1:5000")


# --- JSON text that is not valid Unicode, or nests too deeply ----------------------------------
LONE = "\ud800"


@pytest.mark.parametrize("body", [
    {"youtube_url": f"http://{LONE}"}, {"youtube_url": f"http://127.0.0.1:9/a?{LONE}"},
    {"youtube_url": "http://127.0.0.1:9/a.mp4", "preset": f"a{LONE}"},
])
def test_lone_surrogates_in_a_run_request_are_not_a_500(client, body):
    response = client.post("/pipeline/execute", data=json.dumps(body), content_type="application/json")
    assert response.status_code in (202, 400), response.get_data(as_text=True)
    if response.status_code == 202:
        client.post(f"/api/pipeline/cancel/{response.get_json()['session_id']}", json={})


def test_lone_surrogates_in_a_preset_are_read_as_replacement_characters(client):
    created = client.post("/api/presets", data=json.dumps({"name": f"Lone {LONE} name", "stages": [1]}),
                          content_type="application/json")
    assert created.status_code == 201, created.get_data(as_text=True)
    preset = created.get_json()
    assert preset["name"] == "Lone \ufffd name"
    changed = client.put(f"/api/presets/{preset['id']}", content_type="application/json",
                         data=json.dumps({"name": "Lone name", "description": LONE, "stages": [1]}))
    assert changed.status_code == 200 and changed.get_json()["description"] == "\ufffd"
    client.delete(f"/api/presets/{preset['id']}", json={})


def test_a_pasted_preset_with_a_lone_surrogate_is_imported(client):
    with client.session_transaction() as stored:
        stored["csrf_token"] = "form-token"
    document = {"format": "youtube-pipeline-preset", "version": 1, "name": f"Pasted {LONE}",
                "description": LONE, "stages": [1, 2], "settings": {}}
    response = client.post("/presets/import", data={"csrf_token": "form-token",
                                                    "document": json.dumps(document)})
    assert response.status_code == 303, response.get_data(as_text=True)[-600:]
    listed = {p["name"]: p for p in client.get("/api/presets").get_json()["presets"]}
    imported = listed["Pasted \ufffd"]
    assert imported["description"] == "\ufffd"
    client.delete(f"/api/presets/{imported['id']}", json={})


@pytest.mark.parametrize("path", ["/pipeline/execute", "/api/presets", "/api/presets/import"])
def test_json_nested_too_deeply_is_a_400(client, path):
    response = client.post(path, data="[" * 50000 + "]" * 50000, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:300]


def test_socket_messages_with_lone_surrogates_are_answered(socketio_client):
    sio = socketio_client()
    sio.emit("subscribe", {"session_id": f"run{LONE}"})
    sio.emit("cancel", {"session_id": LONE})
    got = sio.wait_for(lambda got: sum(k == "request_error" for k, *_ in got) >= 2, timeout=10)
    codes = [d["error"]["code"] for k, d, _ in got if k == "request_error"]
    assert codes == ["unknown_run", "unknown_run"]
