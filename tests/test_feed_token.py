"""The feed's read-only token: with access control on, the feed and the files it links carry
it, never the admin token; it opens those and nothing else, signs no browser in, and rotating
it shuts out the old one at once."""
import json
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.test_feed import (
    CHAPTERS,
    NS,
    add_run,
    episodes_root,
    feed_urls,
    get_feed,
    items_by_folder,
    make_mp3,
)

ADMIN = "admin-s3cret/+&"


@pytest.fixture(scope="module")
def produced(live_server):
    """An episode folder with an MP3, chapters and a completed run: (session_id, folder)."""
    folder = episodes_root(live_server.app) / f"token-{uuid.uuid4().hex[:8]}"
    make_mp3(folder / "episode.mp3")
    (folder / "production.json").write_text(json.dumps({"chapters": CHAPTERS}), "utf-8")
    return add_run(live_server.app, folder.name), folder


@pytest.fixture
def protected(live_server, monkeypatch):
    """Access control on, with ADMIN as the admin token; the feed token as it is stored."""
    from services.podcast.feed_token import feed_token

    settings = live_server.app.config["PIPELINE"]
    monkeypatch.setitem(settings["server"], "auth_token", ADMIN)
    return feed_token(settings)


def test_the_feed_carries_its_own_token_and_never_the_admin_token(live_server, produced,
                                                                   protected):
    session_id, folder = produced
    refused = requests.get(f"{live_server.url}/feed.xml", allow_redirects=False, timeout=30)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    assert requests.get(f"{live_server.url}/feed/episodes/{folder.name}/episode.mp3",
                        allow_redirects=False, timeout=30).status_code == 401

    for token in (protected, ADMIN):   # the admin can read the feed too
        answer, root = get_feed(live_server, token=token)
        assert ADMIN.encode() not in answer.content
        assert b"admin-s3cret" not in answer.content
    item = items_by_folder(root)[folder.name]
    assert item.find("podcast:chapters", NS) is not None
    urls = feed_urls(root)
    for url in urls[2:]:
        assert parse_qs(urlsplit(url).query)["token"] == [protected], url
        # requests.get keeps no cookies between calls: each URL must work on its own.
        answer = requests.get(url, allow_redirects=False, timeout=30)
        assert answer.status_code == 200, url
    enclosure = item.find("enclosure").get("url")
    part = requests.get(enclosure, headers={"Range": "bytes=0-99"}, timeout=30)
    assert part.status_code == 206 and part.content == (folder / "episode.mp3").read_bytes()[:100]


def test_the_feed_token_opens_nothing_else(live_server, produced, protected):
    session_id, folder = produced
    with requests.Session() as browser:
        assert browser.get(f"{live_server.url}/feed.xml", params={"token": protected},
                           timeout=30).status_code == 200
        for path in ("/", "/feed", f"/runs/{session_id}", f"/runs/{session_id}/files/episode.mp3",
                     f"/api/pipeline/status/{session_id}", "/api/doctor"):
            for params in ({"token": protected}, {}):   # nor did reading the feed sign it in
                answer = browser.get(f"{live_server.url}{path}", params=params,
                                     allow_redirects=False, timeout=30)
                assert answer.status_code in (302, 401), (path, params, answer.status_code)
        for headers in ({"X-Auth-Token": protected}, {"Authorization": f"Bearer {protected}"}):
            answer = browser.post(f"{live_server.url}/api/feed/token", json={}, headers=headers,
                                  timeout=30)
            assert answer.status_code == 401, headers
            assert browser.get(f"{live_server.url}/feed.xml", headers=headers,
                               allow_redirects=False, timeout=30).status_code == 401


def test_rotating_the_feed_token_shuts_out_the_old_one(live_server, produced, protected,
                                                       monkeypatch):
    answer = requests.post(f"{live_server.url}/api/feed/token", json={},
                           headers={"X-Auth-Token": ADMIN}, timeout=30)
    assert answer.status_code == 200
    fresh = parse_qs(urlsplit(answer.json()["subscribe_url"]).query)["token"][0]
    assert fresh != protected
    old = requests.get(f"{live_server.url}/feed.xml", params={"token": protected},
                       allow_redirects=False, timeout=30)
    assert old.status_code == 401
    _, root = get_feed(live_server, token=fresh)
    assert all(parse_qs(urlsplit(url).query)["token"] == [fresh] for url in feed_urls(root)[2:])

    monkeypatch.setitem(live_server.app.config["PIPELINE"]["feed"], "token", "configured-one")
    answer = requests.post(f"{live_server.url}/api/feed/token", json={},
                           headers={"X-Auth-Token": ADMIN}, timeout=30)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "token_configured"
    get_feed(live_server, token="configured-one")
    page = requests.get(f"{live_server.url}/feed", headers={"X-Auth-Token": ADMIN}, timeout=30)
    assert "token=configured-one" in page.text and ADMIN not in page.text
