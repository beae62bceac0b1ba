"""Signing in: the session keeps an HMAC of the token (a new token signs everyone out), the
session cookie is Lax and HttpOnly, and token tries are throttled per client address."""
import hashlib
import hmac
import threading
from urllib.parse import quote

import pytest

from tests.server_support import csrf_token
from webui.throttle import TryThrottle

TOKEN = "s3cret-\u00e9t\u00e9"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def token(app, monkeypatch):
    monkeypatch.setitem(app.config["PIPELINE"]["server"], "auth_token", TOKEN)
    return TOKEN


@pytest.fixture
def clock(app, monkeypatch):
    """A fresh throttle on the app whose clock the test moves."""
    moved = Clock()
    monkeypatch.setitem(app.extensions, "login_throttle", TryThrottle(clock=moved))
    return moved


def _login(client, sent, path="/login?next=/"):
    return client.post(path, data={"token": sent, "csrf_token": csrf_token(client, "/login")})


# --- the session ---------------------------------------------------------------------------
def test_the_session_keeps_an_hmac_of_the_token_not_a_flag(app, client, token):
    assert _login(client, token).status_code == 302
    with client.session_transaction() as stored:
        kept = dict(stored)
    expected = hmac.new(app.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
    assert kept["auth"] == expected and "authorized" not in kept
    assert token not in str(kept)
    assert client.get("/").status_code == 200


def test_changing_the_token_signs_everyone_out(app, client, token, monkeypatch):
    assert _login(client, token).status_code == 302
    assert client.get("/api/presets").status_code == 200
    monkeypatch.setitem(app.config["PIPELINE"]["server"], "auth_token", "a-new-token")
    assert client.get("/api/presets").status_code == 401
    page = client.get("/runs")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert client.get("/api/presets", headers={"X-Auth-Token": "a-new-token"}).status_code == 200


@pytest.mark.parametrize("stored", [{"authorized": True}, {"auth": "0" * 64}, {"auth": 1},
                                    {"auth": "\u00e9"}, {"auth": None}])
def test_a_session_without_the_right_hmac_is_refused(client, token, stored):
    with client.session_transaction() as session:
        session.update(stored)
    assert client.get("/api/presets").status_code == 401


def test_a_query_token_signs_the_browser_in(client, token):
    assert client.get(f"/runs?token={quote(token)}").status_code == 200
    assert client.get("/runs").status_code == 200


def test_the_session_cookie_is_lax_and_http_only(client, token):
    answer = _login(client, token)
    cookie = answer.headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie


# --- the throttle ----------------------------------------------------------------------------
def test_the_eleventh_login_try_in_a_minute_is_refused_unchecked(client, token, clock):
    for _ in range(10):
        wrong = _login(client, "wrong")
        assert wrong.status_code == 400 and "not right" in wrong.get_data(as_text=True)
    refused = _login(client, "wrong")
    assert refused.status_code == 429
    assert "Too many token tries" in refused.get_data(as_text=True)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    right = _login(client, token)
    assert right.status_code == 429
    assert client.get("/api/presets").status_code == 401
    clock.now += 59
    assert _login(client, token).status_code == 429
    clock.now += 2
    assert _login(client, token).status_code == 302
    assert client.get("/api/presets").status_code == 200


def test_wrong_header_and_query_tokens_share_the_budget(client, token, clock):
    path = "/api/presets"
    for number in range(10):
        if number % 3 == 0:
            sent = client.get(path, headers={"X-Auth-Token": "wrong"})
        elif number % 3 == 1:
            sent = client.get(path, headers={"Authorization": "Bearer wrong"})
        else:
            sent = client.get(f"{path}?token=wrong")
        assert sent.status_code == 401
    refused = client.get(path, headers={"X-Auth-Token": token})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_tries"
    assert client.get(f"{path}?token={quote(token)}").status_code == 429
    assert _login(client, token).status_code == 429
    assert client.get("/healthz").status_code == 200
    clock.now += 61
    assert client.get(path, headers={"X-Auth-Token": token}).status_code == 200


def test_right_tokens_are_not_counted(client, token, clock):
    for _ in range(30):
        assert client.get("/api/presets", headers={"X-Auth-Token": token}).status_code == 200
    assert client.get("/api/presets", headers={"X-Auth-Token": "wrong"}).status_code == 401


def test_each_address_has_its_own_budget(client, token, clock):
    other = {"REMOTE_ADDR": "127.0.0.2"}
    for _ in range(10):
        _login(client, "wrong")
    assert _login(client, "wrong").status_code == 429
    page = client.get("/login", environ_base=other).get_data(as_text=True)
    assert "csrf_token" in page
    assert client.get("/api/presets", headers={"X-Auth-Token": token},
                      environ_base=other).status_code == 200


def test_the_throttle_stays_bounded_and_forgets_stale_addresses():
    clock = Clock()
    throttle = TryThrottle(limit=3, window=60, max_addresses=100, clock=clock)
    for number in range(1000):
        throttle.record(f"10.0.{number // 256}.{number % 256}")
    assert len(throttle) == 100
    assert not throttle.blocked("10.0.0.0")   # evicted: the oldest went first
    for _ in range(3):
        assert throttle.attempt("192.0.2.1")
    assert not throttle.attempt("192.0.2.1") and throttle.blocked("192.0.2.1")
    clock.now += 61
    throttle.record("192.0.2.9")
    assert len(throttle) == 1   # the stale addresses went when a new try came
    assert throttle.attempt("192.0.2.1")


def test_the_throttle_is_thread_safe():
    throttle = TryThrottle(limit=50, window=60)
    allowed = []

    def tries():
        allowed.extend(throttle.attempt("192.0.2.1") for _ in range(40))

    threads = [threading.Thread(target=tries) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 50 and throttle.blocked("192.0.2.1")
