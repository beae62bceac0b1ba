"""Generated bodies, paths, queries, headers and socket messages (hypothesis), drawn from all of
Unicode (lone surrogates included where the transport carries them), unbounded integers and
every float: never a 500, never a crash, never a `server_error`; the server keeps serving.

Each test sends its own number of cases; together they send more than 2,000."""
import html
import json
import logging
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import RecordingClient
from tests.server_support import start_run, wait_for, wait_state
from webui.throttle import TryThrottle

# --- strategies ------------------------------------------------------------------------------
TRICKY = ["\u00b2", "\u0662", "\uff12", "\u00bd", "\u2168", "\U0001d7ce", "\x00", "\t", "\n", "\r",
          "\\", "/", "%", "\u2028", "\ufeff", "\u202e", "\u0301", "\U0001f600", "\ud800",
          "\udfff", "\udc80", "\x7f", "\x85", "\xa0", "\u3002", "\uff0f", "'", '"', "<", ">", "&"]
any_char = st.characters(exclude_categories=[])   # every category, lone surrogates included


def any_text(max_size=40, min_size=0):
    """Text from all of Unicode, often with one of TRICKY spliced in (a mixed alphabet would
    make generation several times slower)."""
    half = st.text(any_char, max_size=max_size // 2)
    spliced = st.builds(lambda head, tricky, tail: head + tricky + tail, half,
                        st.sampled_from(TRICKY), half)
    return st.one_of(st.text(any_char, min_size=min_size, max_size=max_size), spliced)


big_ints = st.one_of(st.integers(), st.sampled_from([2 ** 31, 2 ** 63 - 1, 2 ** 63, 2 ** 64, 2 ** 70,
                                                     -(2 ** 63) - 1, -(2 ** 70), 10 ** 300]))
any_floats = st.one_of(st.floats(), st.sampled_from([float("nan"), float("inf"), float("-inf"),
                                                     -0.0, 1e308, 5e-324]))
# python-engineio refuses integers of more than 100 digits (the message is dropped unread)
socket_ints = big_ints.filter(lambda n: len(str(abs(n))) <= 100)


def json_values_of(ints):
    """Any JSON document whose integers come from `ints`."""
    scalars = st.one_of(st.none(), st.booleans(), ints, any_floats, any_text())
    return st.recursive(scalars, lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(any_text(10), inner, max_size=4)),
        max_leaves=8)


json_values = json_values_of(big_ints)
socket_values = json_values_of(socket_ints)
NUMBERISH = ["1", "2", " 3 ", "007", "\u00b2", "\u00b9", "\u0662", "\uff12", "1\u00b2", "\u2168",
             "\U0001d7d0", "9" * 30, "-1", "0", "1.5", "1e3", "0x10", "\u0661,\u0662", "1,\u00b2"]
digits_like = st.one_of(st.sampled_from(NUMBERISH), big_ints.map(str), any_text(12))
urls = st.one_of(
    st.builds(lambda scheme, rest: f"{scheme}{rest}",
              st.sampled_from(["http://", "https://", "file://", "javascript:", "ftp://", "data:",
                               "HTTP://", "//", "", "http:///", "http://[::1", "http://127.0.0.1:9/"]),
              any_text(60)),
    json_values)
stage_items = st.one_of(digits_like, big_ints, any_floats, st.booleans())
stage_lists = st.one_of(st.lists(stage_items, max_size=6), digits_like, json_values)
folders = st.one_of(any_text(130), st.sampled_from(["..", "../x", "/etc", "a/../../b", "a//b",
                                                    "ok-name", "C:\\x", "a\\..\\b", "~root"]),
                    json_values)
execute_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={"youtube_url": urls, "selected_stages": stage_lists,
                                        "episode_directory": folders, "preset": json_values,
                                        "options": json_values}),
    json_values)
preset_bodies = st.one_of(
    st.fixed_dictionaries({"name": any_text(30), "stages": stage_lists}, optional={
        "description": json_values, "beam_size": json_values,
        "clip_count": json_values, "loudness_lufs": json_values, "language": json_values,
        "episode_mode": json_values, "vad_filter": json_values, "format": json_values,
        "settings": json_values, "version": json_values, "intro": json_values}),
    json_values)
seconds = st.one_of(big_ints, any_floats, digits_like, st.none())
segment_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={
        "segments": st.one_of(st.lists(st.one_of(
            st.fixed_dictionaries({}, optional={"start": seconds, "end": seconds}), json_values),
            max_size=6), json_values),
        "accept_warnings": json_values}),
    json_values)
session_ids = st.one_of(any_text(80, min_size=1), st.sampled_from(
    ["x" * 64, "x" * 65, "..", ".", "%2e%2e", "a/b", "\u00b2"]))


def generated(count):
    """Settings for `count` generated examples, no deadline (the machine is shared), no example file."""
    return settings(max_examples=count, deadline=None, suppress_health_check=list(HealthCheck),
                    database=None)


def as_json(value):
    """JSON text as a browser or script would send it (lone surrogates as \\ud800 escapes)."""
    return json.dumps(value)


def in_path(text):
    """`text` percent-encoded for a URL path segment; a lone surrogate becomes bytes that are
    not UTF-8, as a hostile client may send."""
    return quote(text, safe="", errors="surrogatepass")


def as_header(text):
    """`text` as a server reads it from the wire: UTF-8 bytes seen as Latin-1, no line breaks."""
    raw = text.encode("utf-8", "surrogatepass").decode("latin-1")
    return raw.replace("\r", "").replace("\n", "")


def check_answer(response, sent):
    """A 2xx/3xx or a 4xx; a 4xx on the JSON API carries the error shape."""
    assert response.status_code < 500, (sent, response.status_code, response.get_data(as_text=True))
    if response.status_code >= 400 and response.is_json:
        assert set(response.get_json()["error"]) >= {"code", "message", "field"}, sent


@pytest.fixture
def no_server_errors(caplog):
    """Fails the test if the server logged an unhandled error while it ran."""
    caplog.set_level(logging.ERROR)
    yield
    failures = [r.getMessage() for r in caplog.records
                if r.name in ("routes.errors", "webui.sockets") and r.levelno >= logging.ERROR]
    assert not failures, failures[:5]


@pytest.fixture(scope="module")
def ended_run(live_server, media_server):
    """The id of a run that was started and cancelled: it exists, it is not running."""
    client = live_server.app.test_client()
    session_id = start_run(client, f"{media_server}/speech.mp4", [1],
                           episode_directory="generated-input")
    client.post(f"/api/pipeline/cancel/{session_id}", json={})
    wait_state(client, session_id, timeout=60)
    return session_id


def cancel_if_started(client, response):
    if response.status_code == 202 and response.is_json:
        client.post(f"/api/pipeline/cancel/{response.get_json()['session_id']}", json={})


# --- JSON bodies -----------------------------------------------------------------------------
def test_generated_execute_bodies_get_4xx_or_202(client, no_server_errors):
    seen = []

    @generated(400)
    @given(execute_bodies)
    @example({"youtube_url": "http://\ud800"})
    @example({"youtube_url": "http://127.0.0.1:9/x.mp4", "selected_stages": ["\u00b2"]})
    def check(body):
        response = client.post("/pipeline/execute", data=as_json(body), content_type="application/json")
        seen.append(response.status_code)
        assert response.status_code in (202, 400, 409, 413, 429), (body, response.get_data(as_text=True))
        check_answer(response, body)
        cancel_if_started(client, response)

    check()
    assert len(seen) >= 400


def test_generated_raw_bodies_and_content_types(client, no_server_errors):
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


def test_generated_preset_bodies(client, no_server_errors):
    own = client.post("/api/presets", json={"name": "Generated input", "stages": [1]})
    assert own.status_code == 201, own.get_json()
    existing = own.get_json()["id"]
    seen = []

    @generated(300)
    @given(st.sampled_from(["POST /api/presets", f"PUT /api/presets/{existing}",
                            "POST /api/presets/import"]), preset_bodies)
    @example("POST /api/presets", {"name": "Superscript", "stages": ["\u00b2"]})
    @example("POST /api/presets", {"name": "Lone \udc80", "stages": [1]})
    def check(route, body):
        method, path = route.split()
        response = client.open(path, method=method, data=as_json(body),
                               content_type="application/json")
        seen.append(response.status_code)
        assert response.status_code in (200, 201, 400, 409), (body, response.get_data(as_text=True))
        check_answer(response, body)
        if response.status_code == 201:
            client.delete(f"/api/presets/{response.get_json()['id']}", json={})

    try:
        check()
    finally:
        assert client.delete(f"/api/presets/{existing}", json={}).status_code == 200
    assert len(seen) >= 300


def test_generated_segment_selections(client, ended_run, no_server_errors):
    seen = []

    @generated(200)
    @given(segment_bodies)
    def check(body):
        response = client.post(f"/runs/{ended_run}/segments", data=as_json(body),
                               content_type="application/json")
        seen.append(response.status_code)
        assert 400 <= response.status_code < 500, (body, response.get_data(as_text=True))
        check_answer(response, body)

    check()
    assert len(seen) >= 200


def test_generated_run_actions_with_any_id_and_body(client, no_server_errors):
    seen = []

    @generated(150)
    @given(session_ids, json_values,
           st.sampled_from(["/api/pipeline/resume/", "/api/pipeline/cancel/",
                            "/api/pipeline/reselect/", "/pipeline/interrupt/"]))
    def check(session_id, body, path):
        response = client.post(path + in_path(session_id), data=as_json(body),
                               content_type="application/json")
        seen.append(response.status_code)
        assert 300 <= response.status_code < 500, (session_id, response.get_data(as_text=True))
        check_answer(response, session_id)

    check()
    assert len(seen) >= 150


# --- paths and queries -----------------------------------------------------------------------
def test_generated_paths(client, ended_run, no_server_errors):
    seen = []
    templates = ["GET /api/pipeline/status/{}", "GET /api/pipeline/events/{}", "GET /runs/{}",
                 "GET /runs/{}/segments", "GET /api/runs/{}/segments", "GET /api/runs/{}/peaks",
                 "GET /api/runs/{}/insights", "GET /api/runs/{}/transcript",
                 "GET /runs/{}/chapters.json", f"GET /runs/{ended_run}/files/{{}}",
                 "GET /runs/{}/files/audio.wav", "GET /presets/{}", "GET /api/presets/{}",
                 "GET /api/presets/{}/export", "GET /assets/{}", "DELETE /api/assets/{}",
                 "POST /assets/{}/delete", "GET /{}"]

    @generated(350)
    @given(st.one_of(session_ids, big_ints.map(str), digits_like), st.sampled_from(templates))
    def check(part, template):
        method, path = template.split(" ", 1)
        body = {"json": {}} if method != "GET" else {}   # past the CSRF check, to the route
        response = client.open(path.format(in_path(part)), method=method, **body)
        seen.append(response.status_code)
        assert response.status_code < 500, (part, template, response.get_data(as_text=True))
        if response.status_code >= 400 and path.startswith("/api/"):
            assert set(response.get_json()["error"]) == {"code", "message", "field"}

    check()
    assert len(seen) >= 350


def test_generated_queries(client, ended_run, no_server_errors):
    seen = []
    routes = ["/runs?page={}", f"/api/pipeline/events/{ended_run}?since={{}}",
              "/api/pipeline/events/unknown?since={}", "/login?next={}", "/?session={}",
              "/assets?added={}", "/api/pipeline/status/x?token={}", "/runs?page={}&page=2"]

    @generated(250)
    @given(st.one_of(digits_like, any_text(60)), st.sampled_from(routes))
    @example("\u00b2", "/runs?page={}")
    @example("\u00b2", f"/api/pipeline/events/{ended_run}?since={{}}")
    @example("/\t/evil.example", "/login?next={}")
    def check(value, route):
        response = client.get(route.format(in_path(value)))
        seen.append(response.status_code)
        assert response.status_code < 500, (value, route, response.get_data(as_text=True))
        if "since=" in route and response.status_code == 400:
            assert response.get_json()["error"]["code"] == "invalid_since"
        if route.startswith("/login"):   # the form sends the browser back to this site only
            action = html.unescape(re.search(r'action="([^"]*)"', response.get_data(as_text=True))[1])
            target = parse_qs(urlsplit(action).query).get("next", ["/"])[0]
            assert target.startswith("/") and not target.replace("\\", "/").startswith("//"), target
            assert not any(ord(char) < 32 for char in target), target

    check()
    assert len(seen) >= 250


# --- headers ---------------------------------------------------------------------------------
header_requests = ["GET /", "GET /runs", "GET /healthz", "GET /api/presets",
                   "GET /api/pipeline/status/unknown", "POST /pipeline/execute",
                   "POST /api/pipeline/cancel/unknown", "POST /api/presets"]


def _send_with_headers(client, route, headers):
    method, path = route.split()
    body = '{"youtube_url": "not a url"}' if method == "POST" else None
    return client.open(path, method=method, headers=headers, data=body)


def test_generated_headers(client, no_server_errors):
    seen = []
    names = st.sampled_from(["Host", "Origin", "X-Auth-Token", "Accept", "Content-Type",
                             "Authorization", "X-CSRF-Token", "Cookie"])
    values = st.one_of(any_text(60), st.sampled_from(
        ["rebound.example", "127.0.0.1:5000", "localhost", "[::1]:80", "[", "http://evil",
         "null", "application/json", "multipart/form-data; boundary=", "Bearer \u00e9",
         "text/html;q=\u00b2", "session=\u00e9"]))

    @generated(300)
    @given(st.dictionaries(names, values, min_size=1, max_size=4), st.sampled_from(header_requests))
    def check(headers, route):
        sent = {name: as_header(value) for name, value in headers.items()}
        response = _send_with_headers(client, route, sent)
        seen.append(response.status_code)
        assert response.status_code < 500, (sent, route, response.get_data(as_text=True))

    check()
    assert len(seen) >= 300


def test_generated_tokens_with_a_token_configured(app, client, monkeypatch, no_server_errors):
    monkeypatch.setitem(app.config["PIPELINE"]["server"], "auth_token", "s3cret-\u00e9t\u00e9")
    # every wrong token is a try: allow them all, so each one reaches the comparison
    monkeypatch.setitem(app.extensions, "login_throttle", TryThrottle(limit=10 ** 6))
    seen = []

    @generated(150)
    @given(any_text(40), st.sampled_from(["header", "query", "bearer"]),
           st.sampled_from(header_requests))
    def check(token, where, route):
        headers = {"X-Auth-Token": as_header(token)} if where == "header" else {}
        if where == "bearer":
            headers = {"Authorization": "Bearer " + as_header(token)}
        method, path = route.split()
        if where == "query":
            path += "?token=" + in_path(token)
        response = client.open(path, method=method, headers=headers)
        seen.append(response.status_code)
        assert response.status_code < 500, (token, route, response.get_data(as_text=True))
        if route != "GET /healthz":
            assert response.status_code in (302, 400, 401, 403), (token, route, response.status_code)

    check()
    assert len(seen) >= 150


# --- socket messages -------------------------------------------------------------------------
def test_generated_socket_messages_never_break_the_server(live_server, client, ended_run,
                                                          no_server_errors):
    sio = RecordingClient(live_server.url).connect()
    sent, acknowledged, handled = [], [], []
    try:
        @generated(500)
        @given(st.sampled_from(["subscribe", "unsubscribe", "cancel", "ping", "unknown_event"]),
               st.one_of(socket_values, st.fixed_dictionaries({}, optional={
                   "session_id": st.one_of(st.just(ended_run), socket_values, session_ids),
                   "last_seq": st.one_of(socket_values, socket_ints), "t": socket_values}),
               st.fixed_dictionaries({"session_id": st.just(ended_run),
                                      "last_seq": st.one_of(socket_ints, socket_values)})))
        @example("subscribe", {"session_id": ended_run, "last_seq": 2 ** 70})
        @example("subscribe", {"session_id": "\ud800"})
        def check(kind, payload):
            sent.append(kind)
            if kind == "unknown_event":   # no handler, so no acknowledgement comes back
                sio.emit(kind, payload)
            else:   # acknowledged once the handler has finished (or its error was handled)
                sio.sio.emit(kind, payload, callback=lambda *answer: handled.append(1))
                acknowledged.append(kind)

        check()
        wait_for(lambda: len(handled) >= len(acknowledged), timeout=60, interval=0.05,
                 message="some messages were never handled")
        assert len(handled) == len(acknowledged), "some messages were never handled"
        sio.emit("ping", {"t": "still-alive"})
        sio.wait_for(lambda got: any(k == "pong" and d["t"] == "still-alive" for k, d, _ in got),
                     timeout=30)
        errors = [d["error"]["code"] for k, d, _ in sio.received if k == "request_error"]
        assert errors and "server_error" not in errors
        assert sio.sio.connected
    finally:
        sio.disconnect()
    assert len(sent) >= 500
    assert client.get("/healthz").status_code == 200
