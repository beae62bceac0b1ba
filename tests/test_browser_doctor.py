"""The doctor page and the dashboard's banner, in the browser."""
from playwright.sync_api import expect

from tests.browser_support import PHONE, screenshot

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def test_doctor_page_reads_on_desktop_and_phone(page):
    page.goto("/doctor")
    expect(page.locator("h1")).to_have_text("Doctor")
    rows = page.locator("table.doctor tbody tr")
    assert rows.count() >= 15
    deno = page.locator("table.doctor tbody tr", has_text="Deno (JavaScript runtime)")
    expect(deno).to_have_attribute("data-status", "ok")
    expect(page.locator(".doctor-summary")).not_to_have_attribute("data-status", "fail")
    screenshot(page, "doctor-desktop")
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "doctor-phone")
    assert page.errors == []


def test_banner_leads_to_the_failing_check(page, live_server, monkeypatch):
    app = live_server.app
    monkeypatch.setitem(app.config["PIPELINE"]["download"], "js_runtime", "/nonexistent/deno")
    app.extensions.pop("doctor_banner", None)
    try:
        page.goto("/")
        banner = page.locator('[data-field="doctor-banner"]')
        expect(banner).to_contain_text("Deno (JavaScript runtime)")
        screenshot(page, "doctor-banner")
        banner.get_by_role("link").click()
        failing = page.locator("table.doctor tbody tr", has_text="Deno (JavaScript runtime)")
        expect(failing).to_have_attribute("data-status", "fail")
        expect(failing.locator("td.fix")).to_contain_text("download.js_runtime")
        expect(page.locator(".doctor-summary")).to_have_attribute("data-status", "fail")
        assert page.errors == []
    finally:
        app.extensions.pop("doctor_banner", None)
