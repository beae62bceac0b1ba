"""HTTP routes: bad input gets a 4xx JSON error of one shape, never a 500."""
import uuid

import pytest

from tests.server_support import csrf_token


def assert_error(response, status, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["message"]
    if field is not None:
        assert body["error"]["field"] == field
    return body["error"]


GOOD_URL = "http://127.0.0.1:9/video.mp4"


@pytest.mark.parametrize("body, field, code", [
    ({}, "youtube_url", "required"),
    ({"youtube_url": ""}, "youtube_url", "required"),
    ({"youtube_url": "   "}, "youtube_url", "required"),
    ({"youtube_url": 42}, "youtube_url", "required"),
    ({"youtube_url": "not a url"}, "youtube_url", "invalid"),
    ({"youtube_url": "garbage"}, "youtube_url", "unsupported_scheme"),
    ({"youtube_url": "file:///etc/passwd"}, "youtube_url", "unsupported_scheme"),
    ({"youtube_url": "javascript:alert(1)"}, "youtube_url", "unsupported_scheme"),
    ({"youtube_url": "ftp://example.com/a.mp4"}, "youtube_url", "unsupported_scheme"),
    ({"youtube_url": "http://"}, "youtube_url", "invalid"),
    ({"youtube_url": "http://host:99999/a"}, "youtube_url", "invalid"),
    ({"youtube_url": "http://example.com/" + "a" * 3000}, "youtube_url", "invalid"),
    ({"youtube_url": GOOD_URL, "selected_stages": [9]}, "selected_stages", "out_of_range"),
    ({"youtube_url": GOOD_URL, "selected_stages": [0]}, "selected_stages", "out_of_range"),
    ({"youtube_url": GOOD_URL, "selected_stages": [-1]}, "selected_stages", "out_of_range"),
    ({"youtube_url": GOOD_URL, "selected_stages": ["transcribe"]}, "selected_stages", "invalid"),
    ({"youtube_url": GOOD_URL, "selected_stages": [1.5]}, "selected_stages", "invalid"),
    ({"youtube_url": GOOD_URL, "selected_stages": [True]}, "selected_stages", "invalid"),
    ({"youtube_url": GOOD_URL, "selected_stages": {"a": 1}}, "selected_stages", "invalid"),
    ({"youtube_url": GOOD_URL, "selected_stages": []}, "selected_stages", "required"),
    ({"youtube_url": GOOD_URL, "selected_stages": [7]}, "selected_stages", "missing_input"),
    ({"youtube_url": GOOD_URL, "selected_stages": [4]}, "selected_stages", "missing_input"),
    ({"youtube_url": GOOD_URL, "selected_stages": [2]}, "selected_stages", "missing_input"),
    ({"youtube_url": GOOD_URL, "episode_directory": "../outside"}, "episode_directory", "path_traversal"),
    ({"youtube_url": GOOD_URL, "episode_directory": "a/../../b"}, "episode_directory", "path_traversal"),
    ({"youtube_url": GOOD_URL, "episode_directory": "/etc"}, "episode_directory", "absolute_path"),
    ({"youtube_url": GOOD_URL, "episode_directory": "C:\\x"}, "episode_directory", "absolute_path"),
    ({"youtube_url": GOOD_URL, "episode_directory": "a\\b"}, "episode_directory", "invalid"),
    ({"youtube_url": GOOD_URL, "episode_directory": "x" * 200}, "episode_directory", "invalid"),
    ({"youtube_url": GOOD_URL, "episode_directory": 5}, "episode_directory", "invalid"),
    ({"youtube_url": GOOD_URL, "preset": "no-such-preset"}, "preset", "unknown_preset"),
    ({"youtube_url": GOOD_URL, "options": [1, 2]}, "options", "invalid"),
])
def test_execute_rejects_bad_json(client, body, field, code):
    error = assert_error(client.post("/pipeline/execute", json=body), 400, field)
    assert error["code"] == code


@pytest.mark.parametrize("data, content_type, status", [
    ("{not json", "application/json", 400),
    ("[1, 2, 3]", "application/json", 400),
    ("null", "application/json", 400),
    ("\"text\"", "application/json", 400),
    ("youtube_url=x", "text/plain", 415),
    ("", None, 415),
])
def test_execute_rejects_bodies_that_are_not_a_json_object(client, data, content_type, status):
    token = {"X-CSRF-Token": csrf_token(client)}   # past the CSRF check, to the route's own
    assert_error(client.post("/pipeline/execute", data=data, content_type=content_type,
                             headers=token), status, "body")


def test_execute_rejects_an_oversized_body(client):
    response = client.post("/pipeline/execute", data="{" + " " * (2 * 1024 * 1024) + "}",
                           content_type="application/json")
    assert_error(response, 413)


def test_form_post_without_the_csrf_token_is_refused(client):
    response = client.post("/pipeline/execute", data={"youtube_url": "http://127.0.0.1:9/a.mp4"})
    assert assert_error(response, 403)["code"] == "csrf_token_missing"
    response = client.post("/pipeline/execute", data={"youtube_url": "http://127.0.0.1:9/a.mp4",
                                                      "csrf_token": "forged"})
    assert assert_error(response, 403)["code"] == "csrf_token_missing"


def test_cross_site_requests_are_refused(client):
    response = client.post("/api/pipeline/cancel/whatever", headers={"Origin": "http://evil.example"},
                           json={})
    assert assert_error(response, 403)["code"] == "cross_site_request"


def test_form_post_with_an_error_shows_the_message_in_the_form(client):
    response = client.post("/pipeline/execute", data={"youtube_url": "javascript:alert(1)",
                                                      "csrf_token": csrf_token(client)},
                           headers={"Accept": "text/html"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Only http:// and https:// URLs are accepted." in page
    assert 'value="javascript:alert(1)"' in page


CHROMIUM_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                   "image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7")


def test_a_browser_form_post_is_answered_with_a_page_not_json(client):
    response = client.post("/pipeline/execute", data={"youtube_url": "javascript:alert(1)",
                                                      "csrf_token": csrf_token(client)},
                           headers={"Accept": CHROMIUM_ACCEPT})
    assert response.status_code == 400 and "text/html" in response.content_type
    assert "Only http:// and https:// URLs are accepted." in response.get_data(as_text=True)


def test_form_fields_are_escaped_in_the_page(client):
    response = client.post("/pipeline/execute",
                           data={"youtube_url": "\"><script>alert(1)</script>",
                                 "csrf_token": csrf_token(client)},
                           headers={"Accept": "text/html"})
    page = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


@pytest.mark.parametrize("path", [
    "/api/pipeline/status/unknown", "/api/pipeline/events/unknown",
    "/api/pipeline/status/" + "x" * 100,
])
def test_unknown_run_is_404_json(client, path):
    assert_error(client.get(path), 404, "session_id")


@pytest.mark.parametrize("path", ["/pipeline/interrupt/unknown", "/api/pipeline/cancel/unknown"])
def test_cancel_of_unknown_run_is_404_json(client, path):
    assert_error(client.post(path, json={}), 404, "session_id")


@pytest.mark.parametrize("since", ["-1", "abc", "1.5", "9" * 20])
def test_events_since_must_be_a_whole_number(client, since):
    assert_error(client.get(f"/api/pipeline/events/whatever?since={since}"), 400, "since")


def test_wrong_method_and_unknown_api_path_are_json(client):
    assert_error(client.get("/pipeline/execute"), 405)
    assert_error(client.get("/api/nothing-here"), 404)


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "text/html" in response.content_type


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_dashboard_lists_the_stages_and_loads_its_script(client):
    page = client.get("/").get_data(as_text=True)
    for name in ("Media Extraction", "Transcription", "Content Analysis", "Quality Validation"):
        assert name in page
    assert 'type="module"' in page and "js/dashboard.js" in page
    assert "<script>" not in page
    assert client.get("/static/js/vendor/socket.io-4.8.4.esm.min.js").status_code == 200


def test_a_session_id_longer_than_the_column_names_no_run(client):
    from storage.models import SESSION_ID_LENGTH

    too_long = "a" * (SESSION_ID_LENGTH + 1)
    for path in (f"/api/pipeline/status/{too_long}", f"/api/pipeline/events/{too_long}",
                 f"/api/runs/{too_long}/segments", f"/api/runs/{too_long}/peaks"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"], path
    assert client.post(f"/api/pipeline/resume/{too_long}", json={}).status_code == 404
    assert client.get(f"/runs/{too_long}").status_code == 404


# Ids no run can have: too long, or with characters outside [0-9a-z] (percent-encoded here).
NO_RUN_IDS = ["a" * 33, "x" * 100, "ab%24c", "%C3%A9t%C3%A9", "UPPER", "..", "%00", "a%20b",
              "%ED%A0%80"]
RUN_ROUTES = [("get", "/api/pipeline/status/{}"), ("get", "/api/pipeline/events/{}"),
              ("post", "/api/pipeline/cancel/{}"), ("post", "/pipeline/interrupt/{}"),
              ("post", "/api/pipeline/resume/{}"), ("post", "/api/pipeline/reselect/{}"),
              ("get", "/api/runs/{}/transcript"), ("get", "/api/runs/{}/segments"),
              ("post", "/runs/{}/segments"), ("get", "/runs/{}/chapters.json"),
              ("get", "/runs/{}"), ("get", "/runs/{}/segments"), ("get", "/runs/{}/files/a.txt")]


def _send(client, method, path):
    """GET `path`, or POST it with a JSON body (past the CSRF check, to the route)."""
    return client.get(path) if method == "get" else client.post(path, json={})


@pytest.mark.parametrize("sent", NO_RUN_IDS)
def test_an_id_no_run_can_have_gets_the_unknown_run_answer(client, sent):
    unknown = uuid.uuid4().hex
    for method, path in RUN_ROUTES:
        expected = _send(client, method, path.format(unknown))
        answer = _send(client, method, path.format(sent))
        assert expected.status_code == 404, path
        assert (answer.status_code, answer.content_type, answer.get_data(as_text=True)) == (
            expected.status_code, expected.content_type, expected.get_data(as_text=True)), path


def test_an_id_no_run_can_have_never_reaches_the_view(client, app, monkeypatch):
    def refuse(*args):
        raise AssertionError(f"the view was called with {args}")

    pipeline = app.extensions["pipeline"]
    for name in ("snapshot", "cancel", "resume", "reselect", "review_data"):
        monkeypatch.setattr(pipeline, name, refuse)
    monkeypatch.setattr(pipeline.store, "has_run", refuse)
    for sent in NO_RUN_IDS:
        for method, path in RUN_ROUTES:
            assert _send(client, method, path.format(sent)).status_code == 404, (path, sent)


def test_a_percent_encoded_slash_in_a_run_id_matches_no_route(client):
    for path in ("/api/pipeline/status/a%2Fb", "/api/pipeline/cancel/a%2Fb"):
        method = "post" if "cancel" in path else "get"
        assert assert_error(_send(client, method, path), 404)["code"] == "not_found"
    page = client.get("/runs/a%2Fb")
    assert page.status_code == 404 and "text/html" in page.content_type


def test_the_unknown_run_page_keeps_the_menu_on_runs(client):
    page = client.get("/runs/" + "x" * 65).get_data(as_text=True)
    assert 'aria-current="page">Runs' in page and "There is no run with this id." in page
