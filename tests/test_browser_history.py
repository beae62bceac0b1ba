"""Keyboard use at phone width, and the history pages, in the browser."""
import re

from playwright.sync_api import expect

from tests.browser_support import PHONE, screenshot
from tests.media_support import media_url
from tests.server_support import start_run, wait_state

NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def tab_to(page, condition, limit=40):
    """Press Tab until `condition` (JS on document.activeElement as `el`) holds."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {condition}; }})()"):
            return
    raise AssertionError(f"Tab never reached: {condition}")


def test_start_and_cancel_by_keyboard_on_a_phone(page, live_server, any_media):
    page.set_viewport_size(PHONE)
    page.goto("/")
    tab_to(page, "el.id === 'youtube_url'")
    page.keyboard.type(media_url(any_media, "slow"))
    page.keyboard.press("Enter")
    stage_one = page.locator('#monitor .stage[data-stage="1"]')
    expect(stage_one).to_have_attribute("data-status", "running")
    expect(page.locator('#monitor [data-field="sub-label"]')).to_have_text("Downloading media")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "phone-1-running")

    tab_to(page, "el.dataset.action === 'cancel'")
    page.keyboard.press("Enter")
    expect(page.locator('#monitor [data-field="state"]')).to_have_text("Cancelled", timeout=15_000)
    expect(stage_one).to_have_attribute("data-status", "cancelled")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "phone-2-cancelled")
    assert page.errors == []


def test_history_and_run_pages(page, live_server, any_media):
    session_id = start_run(live_server, media_url(any_media, "fast"))
    assert wait_state(live_server, session_id)["state"] == "completed"

    page.goto("/runs")
    row = page.locator("table.runs tbody tr").first
    expect(row.get_by_role("link").first).to_have_text(re.compile(r"^talk-"))
    expect(row.locator("td").nth(1)).to_have_text("completed")
    expect(row.locator(".chip")).to_have_count(2)
    screenshot(page, "history-1-list")
    row.get_by_role("link").first.click()

    expect(page).to_have_url(f"{live_server.url}/runs/{session_id}")
    chart = page.get_by_role("img", name="Time per stage")
    expect(chart.locator("rect.chart-bar")).to_have_count(2)
    widths = [float(bar.get_attribute("width")) for bar in chart.locator("rect.chart-bar").all()]
    assert all(width > 0 for width in widths) and max(widths) > 100
    transcript = page.get_by_role("link", name="transcript.srt")
    expect(transcript).to_be_visible()
    assert page.request.get(transcript.get_attribute("href")).text().startswith("1\n")
    expect(page.get_by_text("No report yet")).to_be_visible()
    screenshot(page, "history-2-run")

    page.set_viewport_size(PHONE)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "history-3-run-phone")
    page.goto("/runs")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "history-4-list-phone")
    assert page.errors == []
