"""The Feed page in Chromium: the address to subscribe to, what Apple would refuse, and
rotating the feed's token with the page's own form (its CSRF token included)."""
from urllib.parse import parse_qs, urlsplit

import requests
from playwright.sync_api import expect

from tests.browser_support import screenshot

ADMIN = "browser-admin-token-1234"


def test_the_feed_page_gives_the_address_and_the_problems(page, live_server):
    page.goto("/")
    page.get_by_role("link", name="Feed").click()
    expect(page.locator("h1")).to_have_text("Podcast feed")
    expect(page.locator("#subscribe-url")).to_have_text(f"{live_server.url}/feed.xml")
    expect(page.locator(".feed-problems li", has_text="owner_email")).to_have_count(1)
    assert page.get_by_role("button", name="Rotate the feed token").count() == 0
    assert page.errors == []


def test_rotating_the_token_from_the_page(page, live_server, monkeypatch):
    monkeypatch.setitem(live_server.app.config["PIPELINE"]["server"], "auth_token", ADMIN)
    page.goto(f"/feed?token={ADMIN}")
    shown = page.locator("#subscribe-url").inner_text()
    old = parse_qs(urlsplit(shown).query)["token"][0]
    assert ADMIN not in shown
    assert requests.get(shown, timeout=30).status_code == 200
    page.get_by_role("button", name="Rotate the feed token").click()
    expect(page.locator("#subscribe-url")).not_to_have_text(shown)
    fresh = page.locator("#subscribe-url").inner_text()
    assert parse_qs(urlsplit(fresh).query)["token"][0] != old
    assert requests.get(shown, allow_redirects=False, timeout=30).status_code == 401
    assert requests.get(fresh, timeout=30).status_code == 200
    screenshot(page, "feed-page")
    assert page.errors == []
