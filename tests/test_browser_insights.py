"""Chapters, highlights and the summary in the browser: the run page's player and the monitor."""
import json
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_support import PHONE, screenshot

FIXTURES = Path(__file__).parent / "fixtures"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"
AUDIO = '[data-field="episode-audio"]'


@pytest.fixture(scope="module")
def summarized_run(watch_run, live_server, media_server):
    """A completed 1-5 run with at least two chapters: (session_id, summary.json's content).

    The three-topic recording gives three chapters; without it the speech fixture's single
    chapter is split in two by hand.
    """
    name = "topics.m4a" if (FIXTURES / "topics.m4a").is_file() else "speech.mp4"
    run = watch_run(f"{media_server}/{name}?browser-{uuid.uuid4().hex[:8]}", (1, 2, 3, 4, 5),
                    timeout=240, socket=False)
    assert run["snapshot"]["state"] == "completed"
    session_id, path = run["session_id"], run["folder"] / "summary.json"
    summary = json.loads(path.read_text("utf-8"))
    if len(summary["chapters"]) < 2:
        first = summary["chapters"][0]
        second = dict(first, index=1, start=10.0, title="Second part", summary="The rest.")
        summary["chapters"] = [dict(first, end=10.0), second]
        path.write_text(json.dumps(summary), "utf-8")
    return session_id, summary


def audio_state(page):
    return page.evaluate(f"""(() => {{ const a = document.querySelector('{AUDIO}');
        return {{time: a.currentTime, paused: a.paused, ready: a.readyState}}; }})()""")


def test_chapter_time_plays_the_audio_from_there(page, summarized_run):
    session_id, summary = summarized_run
    page.goto(f"/runs/{session_id}")
    chapters = page.locator(".chapter-list .chapter")
    expect(chapters).to_have_count(len(summary["chapters"]))
    for index, chapter in enumerate(summary["chapters"]):
        expect(chapters.nth(index).locator(".chapter-title")).to_have_text(chapter["title"])
    expect(page.locator('[data-field="keywords"] .keyword').first).to_have_text(
        summary["keywords"][0])
    expect(page.locator(".highlight-reason").first).to_be_visible()
    screenshot(page, "insights-1-run-page")

    start = summary["chapters"][1]["start"]
    chapters.nth(1).locator("a.seek").click()
    page.wait_for_function(f"""(() => {{ const a = document.querySelector('{AUDIO}');
        return a.readyState >= 1 && Math.abs(a.currentTime - {start}) < 1; }})()""")
    state = audio_state(page)
    status = page.locator('[data-field="player-status"]').text_content()
    assert not state["paused"] or "Press play" in status, (state, status)
    expect(chapters.nth(1)).to_have_attribute("aria-current", "true")
    assert page.url.endswith(f"/runs/{session_id}")    # the click played; it did not navigate
    screenshot(page, "insights-2-playing-chapter")
    assert page.errors == []


def test_highlight_plays_its_range_and_stops_at_its_end(page, summarized_run):
    session_id, _ = summarized_run
    page.goto(f"/runs/{session_id}")
    link = page.locator(".highlight-list a.seek").first
    start, end = float(link.get_attribute("data-start")), float(link.get_attribute("data-end"))
    link.click()
    page.wait_for_function(f"""(() => {{ const a = document.querySelector('{AUDIO}');
        return a.readyState >= 1 && Math.abs(a.currentTime - {start}) < 1; }})()""")
    if audio_state(page)["paused"]:
        pytest.skip("headless Chromium refused to play the audio")
    # Jump near the end: playback stops there by itself.
    page.evaluate(f"document.querySelector('{AUDIO}').currentTime = {end - 0.4}")
    page.wait_for_function(f"document.querySelector('{AUDIO}').paused", timeout=10_000)
    assert abs(audio_state(page)["time"] - end) < 1
    assert page.errors == []


def test_monitor_of_an_ended_run_shows_summary_and_chapters(page, summarized_run):
    session_id, summary = summarized_run
    page.goto(f"/?session={session_id}")
    brief = page.locator('#monitor [data-field="insights"]')
    expect(brief).to_be_visible()
    expect(brief.locator('[data-field="insights-summary"]')).to_have_text(summary["summary"])
    items = brief.locator('[data-field="insights-chapters"] li')
    expect(items).to_have_count(len(summary["chapters"]))
    second = summary["chapters"][1]
    expect(items.nth(1)).to_contain_text(second["title"])
    minutes, seconds = divmod(round(second["start"]), 60)
    expect(items.nth(1).locator(".chapter-time")).to_have_text(f"{minutes:02d}:{seconds:02d}")
    expect(brief.locator(".keyword")).to_have_count(len(summary["keywords"]))
    link = brief.get_by_role("link", name="Full summary on the run page")
    expect(link).to_have_attribute("href", f"/runs/{session_id}#insights")
    screenshot(page, "insights-3-monitor")
    assert page.errors == []


def test_insights_fit_a_phone(page, summarized_run):
    session_id, _ = summarized_run
    page.set_viewport_size(PHONE)
    page.goto(f"/runs/{session_id}")
    expect(page.locator(".chapter-list .chapter").first).to_be_visible()
    page.locator(".summary-file > summary").click()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "insights-4-run-page-phone")
    page.goto(f"/?session={session_id}")
    expect(page.locator('#monitor [data-field="insights"]')).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "insights-5-monitor-phone")
    assert page.errors == []
