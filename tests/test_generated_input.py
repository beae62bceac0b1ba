"""Generated bodies and messages (hypothesis): never a 500, never a crash; the server keeps serving."""
import json
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import RecordingClient

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                         st.floats(allow_nan=False), st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)),
    max_leaves=15)
urls = st.one_of(
    st.builds(lambda scheme, rest: f"{scheme}{rest}",
              st.sampled_from(["http://", "https://", "file://", "javascript:", "ftp://", "data:",
                               "HTTP://", "//", "", "http:///", "http://[::1"]),
              st.text(max_size=60)),
    json_values)
stage_lists = st.one_of(st.lists(st.one_of(st.integers(-5, 12), st.text(max_size=3), st.booleans(),
                                           st.floats(allow_nan=False)), max_size=9),
                        st.text(max_size=12), json_values)
folders = st.one_of(st.text(max_size=130), st.sampled_from(["..", "../x", "/etc", "a/../../b", "a//b",
                                                            "ok-name", "C:\\x", "a\\..\\b", "~root"]),
                    json_values)
execute_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={"youtube_url": urls, "selected_stages": stage_lists,
                                        "episode_directory": folders, "preset": json_values,
                                        "options": json_values}),
    json_values)
def generated(count):
    """Settings for `count` generated examples, no deadline (the machine is shared), no example file."""
    return settings(max_examples=count, deadline=None, suppress_health_check=list(HealthCheck),
                    database=None)


def cancel_if_started(client, response):
    if response.status_code == 202:
        client.post(f"/api/pipeline/cancel/{response.get_json()['session_id']}")


def test_generated_execute_bodies_get_4xx_or_202(client):
    seen = []

    @generated(300)
    @given(execute_bodies)
    def check(body):
        response = client.post("/pipeline/execute", data=json.dumps(body), content_type="application/json")
        seen.append(response.status_code)
        assert response.status_code in (202, 400, 413), (body, response.get_data(as_text=True))
        if response.status_code == 400:
            assert set(response.get_json()["error"]) == {"code", "message", "field"}
        cancel_if_started(client, response)

    check()
    assert len(seen) >= 300


def test_generated_raw_bodies_and_content_types(client):
    seen = []

    @generated(150)
    @given(st.binary(max_size=300),
           st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain",
                            "multipart/form-data", "application/json; charset=latin-1", ""]))
    def check(data, content_type):
        response = client.post("/pipeline/execute", data=data, content_type=content_type or None)
        seen.append(response.status_code)
        assert 400 <= response.status_code < 500 or response.status_code == 202, response.get_data()
        cancel_if_started(client, response)

    check()
    assert len(seen) >= 150


def test_generated_paths_and_queries(client):
    seen = []

    @generated(120)
    @given(st.text(min_size=1, max_size=80).filter(lambda t: t not in (".", "..")),
           st.text(max_size=20),
           st.sampled_from(["GET status", "GET events", "POST cancel", "POST interrupt", "POST resume"]))
    def check(session_id, since, action):
        method, kind = action.split()
        path = {"status": "/api/pipeline/status/", "events": "/api/pipeline/events/",
                "cancel": "/api/pipeline/cancel/", "interrupt": "/pipeline/interrupt/",
                "resume": "/api/pipeline/resume/"}[kind]
        response = client.open(path + quote(session_id, safe=""), method=method,
                               query_string={"since": since})
        seen.append(response.status_code)
        assert 200 <= response.status_code < 500, response.get_data()
        if response.status_code >= 400:  # (a doubled slash is answered with a 308 redirect)
            assert set(response.get_json()["error"]) == {"code", "message", "field"}

    check()
    assert len(seen) >= 120


def test_generated_socket_messages_never_break_the_server(live_server, client):
    sio = RecordingClient(live_server.url).connect()
    count = []
    try:
        @generated(200)
        @given(st.sampled_from(["subscribe", "unsubscribe", "cancel", "ping", "unknown_event"]),
               st.one_of(json_values, st.fixed_dictionaries({}, optional={
                   "session_id": json_values, "last_seq": json_values, "t": json_values})))
        def check(kind, payload):
            count.append(1)
            sio.emit(kind, payload)

        check()
        sio.emit("ping", {"t": "still-alive"})
        sio.wait_for(lambda got: any(k == "pong" and d["t"] == "still-alive" for k, d, _ in got), timeout=30)
        errors = [d["error"]["code"] for k, d, _ in sio.received if k == "request_error"]
        assert "server_error" not in errors
        assert sio.sio.connected
    finally:
        sio.disconnect()
    assert len(count) >= 200
    assert client.get("/healthz").status_code == 200
