"""CSRF on every state-changing route (walked from the URL map), and the headers every answer
carries: no framing, no sniffing, same-origin referrers."""
import re
import time
import uuid

import pytest

from tests.server_support import HangingHandler, csrf_token, loopback_http, wait_state

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_CODES = {"cross_site_request", "csrf_token_missing"}
# A plausible value for each URL converter: ids that name nothing, so no request changes a thing.
CONVERTER_VALUES = {"run_id": uuid.uuid4().hex, "batch_id": uuid.uuid4().hex,
                    "int": "2147483000", "default": "no-such-asset.mp3", "path": "no/such/file"}
PLACEHOLDER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>")
EVIL = "http://evil.example"


def _fill(rule):
    def value(match):
        converter = match.group(1) or "default"
        assert converter in CONVERTER_VALUES, f"give the test a value for <{converter}:…> ({rule})"
        return CONVERTER_VALUES[converter]

    return PLACEHOLDER.sub(value, rule)


def state_changing_requests(app):
    """(method, path) of every state-changing method of every rule of the URL map."""
    return sorted((method, _fill(rule.rule)) for rule in app.url_map.iter_rules()
                  for method in rule.methods & STATE_CHANGING)


def csrf_refused(response):
    """Whether `response` is the CSRF check's 403 (JSON on the API, the error page elsewhere)."""
    if response.status_code != 403:
        return False
    body = response.get_json(silent=True)
    if body is not None:
        return body["error"]["code"] in CSRF_CODES and body["error"]["message"]
    return "Request refused" in response.get_data(as_text=True)


FORGED = {
    "bodyless, no Origin": {},
    "text/plain": {"data": "x", "content_type": "text/plain"},
    "foreign Origin": {"json": {}, "headers": {"Origin": EVIL}},
    "cross-site fetch": {"json": {}, "headers": {"Sec-Fetch-Site": "cross-site"}},
}


def test_every_state_changing_route_refuses_what_another_site_can_send(app, client):
    requests = state_changing_requests(app)
    assert len(requests) >= 20 and ("DELETE", f"/api/presets/{CONVERTER_VALUES['int']}") in requests
    missed = []
    for method, path in requests:
        for case, extra in FORGED.items():
            response = client.open(path, method=method, **extra)
            if not csrf_refused(response):
                missed.append(f"{case}: {method} {path} -> {response.status_code}")
        same_site = client.open(path, method=method, json={}, headers={
            "Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"})
        if csrf_refused(same_site) or same_site.status_code >= 500:
            missed.append(f"same-origin JSON: {method} {path} -> {same_site.status_code}")
    assert not missed, "\n".join(missed)


def test_refusals_answer_json_on_the_api_and_a_page_elsewhere(client):
    api = client.post(f"/api/pipeline/cancel/{uuid.uuid4().hex}")
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "csrf_token_missing"
    assert set(api.get_json()["error"]) == {"code", "message", "field"}
    foreign = client.post(f"/api/pipeline/cancel/{uuid.uuid4().hex}", headers={"Origin": "null"},
                          json={})
    assert foreign.status_code == 403 and foreign.get_json()["error"]["code"] == "cross_site_request"
    page = client.post("/presets/2147483000/delete", data={"csrf_token": "forged"},
                       headers={"Accept": "text/html"})
    assert page.status_code == 403 and page.mimetype == "text/html"
    assert "did not show it came from this site" in page.get_data(as_text=True)


@pytest.mark.parametrize("headers", [
    {"Origin": "null"}, {"Origin": ""}, {"Origin": "http://localhost.evil.example"},
    {"Origin": "https://localhost"}, {"Origin": "http://localhost:5001"},
    {"Origin": "http://l\u00f6calhost"}, {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://localhost"},
    {"Origin": EVIL, "X-CSRF-Token": "anything"}])
def test_foreign_origins_are_refused_even_with_json(client, headers):
    sent = {name: value.encode("utf-8").decode("latin-1") for name, value in headers.items()}
    response = client.post(f"/api/pipeline/cancel/{uuid.uuid4().hex}", json={}, headers=sent)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "cross_site_request"


def test_what_proves_a_request_came_from_this_site(client):
    path = f"/api/pipeline/cancel/{uuid.uuid4().hex}"
    token = csrf_token(client)
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert client.post(path, headers=same).status_code == 403   # a right Origin is not enough
    assert client.post(path, headers={**same, "X-CSRF-Token": "forged"}).status_code == 403
    assert client.post(path, headers={"X-CSRF-Token": "\u00e9t\u00e9".encode().decode("latin-1")}
                       ).status_code == 403
    assert client.post(path, data={"csrf_token": "forged"}).status_code == 403
    assert client.post(path, headers={**same, "X-CSRF-Token": token}).status_code == 404
    assert client.post(path, data={"csrf_token": token}).status_code == 404
    assert client.post(path, headers={"Sec-Fetch-Site": "none"}, json={}).status_code == 404
    # programs (curl, scripts) send neither Origin nor Sec-Fetch-Site
    assert client.post(path, json={}).status_code == 404
    assert client.post(path, data="{}", content_type="application/json; charset=utf-8").status_code == 404
    assert client.post(path, data="{}", content_type="application/jsonx").status_code == 403


def test_an_access_token_header_is_proof_enough(app, client, monkeypatch):
    monkeypatch.setitem(app.config["PIPELINE"]["server"], "auth_token", "s3cret-token")
    path = f"/api/pipeline/cancel/{uuid.uuid4().hex}"
    assert client.post(path, headers={"X-Auth-Token": "s3cret-token"}).status_code == 404
    assert client.post(path, headers={"Authorization": "Bearer s3cret-token"}).status_code == 404
    assert client.post(path, headers={"X-Auth-Token": "wrong"}).status_code == 401
    refused = client.post(path, headers={"X-Auth-Token": "s3cret-token", "Origin": EVIL})
    assert refused.status_code == 403


def test_a_refused_delete_leaves_the_preset(client):
    created = client.post("/api/presets", json={"name": f"Kept {uuid.uuid4().hex[:6]}", "stages": [1]})
    preset_id = created.get_json()["id"]
    api, page = f"/api/presets/{preset_id}", f"/presets/{preset_id}/delete"
    for method, path in (("DELETE", api), ("POST", page)):
        for extra in FORGED.values():
            assert client.open(path, method=method, **extra).status_code == 403
    assert client.post(page, data={"csrf_token": "forged"}).status_code == 403
    assert client.get(api).status_code == 200
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">',
                      client.get("/presets").get_data(as_text=True)).group(1)
    assert client.delete(api, headers={"X-CSRF-Token": token}).status_code == 200
    assert client.get(api).status_code == 404


def test_a_refused_cancel_leaves_the_run_going(client):
    with loopback_http(HangingHandler) as slow:
        answer = client.post("/pipeline/execute", json={"youtube_url": f"{slow}/hang.mp4",
                                                        "selected_stages": [1]})
        assert answer.status_code == 202
        session_id = answer.get_json()["session_id"]
        for path in (f"/api/pipeline/cancel/{session_id}", f"/pipeline/interrupt/{session_id}"):
            for extra in FORGED.values():
                assert client.post(path, **extra).status_code == 403
        time.sleep(0.5)
        snapshot = client.get(f"/api/pipeline/status/{session_id}").get_json()
        assert snapshot["state"] in ("queued", "running"), snapshot["state"]
        cancelled = client.post(f"/api/pipeline/cancel/{session_id}", json={})
        assert cancelled.status_code == 200
        assert wait_state(client, session_id, timeout=30)["state"] == "cancelled"


@pytest.mark.parametrize("path", ["/", "/runs", "/presets", "/assets", "/batches", "/doctor",
                                  "/login", "/healthz", "/api/presets", "/static/js/csrf.js",
                                  "/api/pipeline/status/nothing"])
def test_every_answer_forbids_framing_and_sniffing(client, path):
    response = client.get(path)
    assert response.status_code < 500
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_a_route_policy_keeps_its_directives_and_gains_frame_ancestors():
    from webui.headers import with_frame_ancestors

    assert with_frame_ancestors("sandbox; default-src 'none'") == (
        "sandbox; default-src 'none'; frame-ancestors 'none'")
    assert with_frame_ancestors("frame-ancestors *; img-src data:;") == (
        "img-src data:; frame-ancestors 'none'")
    assert with_frame_ancestors(None) == "frame-ancestors 'none'"


def test_every_page_offers_the_token_to_its_scripts(client):
    page = client.get("/").get_data(as_text=True)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    assert meta == csrf_token(client)


def test_every_post_form_carries_the_token():
    from tests.server_support import ROOT

    forms = 0
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        for form in re.findall(r"<form\b[^>]*>.*?</form>", text, flags=re.S | re.I):
            if re.search(r'method="post"', form, flags=re.I):
                forms += 1
                assert 'name="csrf_token" value="{{ csrf_token() }}"' in form, (template, form[:200])
    assert forms >= 9
