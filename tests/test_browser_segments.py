"""The segment review page in Chromium, editing a stored waiting run: the waveform with the
selection as regions, trimming by dragging an edge and by typed times, snapping to words,
sentences from the transcript, the keys, zoom, a phone, a finished run read-only, and an hour
with a thousand sentences."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import PHONE, screenshot
from tests.segment_support import (  # noqa: F401
    ROWS,
    drag,
    long_episode,
    make_run,
    open_page,
    row_times,
    seconds,
    waiting,
)


def test_waiting_run_shows_the_proposal_on_the_waveform(page, waiting):
    open_page(page, waiting)
    expect(page.locator(ROWS)).to_have_count(2)
    assert row_times(page) == [("0:10.00", "0:39.00"), ("1:00.00", "1:29.00")]
    regions = page.locator("#waveform [data-segment]")
    expect(regions).to_have_count(2)
    expect(regions.nth(0).locator('[part="region-content"]')).to_have_text("1")
    expect(page.locator(".segment-sentences .sentence")).to_have_count(12)
    expect(page.locator(".sentence-chapter")).to_have_text("<i>All</i>")
    expect(page.locator(".segment-sentences .sentence").nth(3)).to_contain_text("Sentence <b>3</b>.")
    screenshot(page, "segments-1-proposal")
    assert page.errors == []


def word_ends():
    """Every word end of the stored run (tests/segment_support.py: five words a sentence)."""
    return {round(n * 10 + (k + 1) * 1.8, 2) for n in range(12) for k in range(5)}


def test_dragging_an_edge_trims_the_segment_to_a_word_end(page, waiting):
    open_page(page, waiting)
    waveform = page.locator('[data-field="waveform"]').bounding_box()
    per_second = waveform["width"] / 120
    handle = page.locator("#waveform [data-segment]").nth(0).locator('[part~="region-handle-right"]')
    drag(page, handle.bounding_box(), -5.3 * per_second)
    end = seconds(page.locator(ROWS).nth(0).locator('[data-edge="end"]').input_value())
    assert 32 < end < 36 and round(end, 2) in word_ends()
    assert row_times(page)[0][0] == "0:10.00"
    expect(page.locator(ROWS).nth(0).locator(".segment-length")).to_have_text(f"{end - 10:.1f} s")
    left = page.locator("#waveform [data-segment]").nth(0).evaluate("e => e.style.right")
    assert float(left.rstrip("%")) == pytest.approx((120 - end) / 120 * 100, abs=0.01)

    # Dragging on an empty stretch of the waveform adds a segment there, snapped to words.
    box = {"x": waveform["x"] + 95 * per_second, "y": waveform["y"] + 40, "width": 0, "height": 0}
    drag(page, box, 14 * per_second)
    expect(page.locator(ROWS)).to_have_count(3)
    start, end = (seconds(text) for text in row_times(page)[2])
    assert 93 < start < 97 and 107 < end < 111 and round(end, 2) in word_ends()
    expect(page.locator(ROWS).nth(2).locator(".problem-error:not(.segment-typing)")).to_have_text(
        "Shorter than the 15 s minimum.")
    screenshot(page, "segments-2-dragged")

    # Delete in the transcript leaves the segments alone; after a click on a region it removes it.
    page.locator(".segment-sentences .sentence").nth(0).focus()
    page.keyboard.press("Delete")
    expect(page.locator(ROWS)).to_have_count(3)
    page.mouse.click(waveform["x"] + 75 * per_second, waveform["y"] + 60)
    expect(page.locator(ROWS).nth(1)).to_have_class(re.compile("is-focused"))
    page.keyboard.press("Delete")
    expect(page.locator(ROWS)).to_have_count(2)
    assert [start for start, _ in row_times(page)] == ["0:10.00", "1:35.40"]
    assert page.errors == []


def test_typed_times_snap_and_the_keys_nudge_remove_and_add(page, waiting):
    open_page(page, waiting)
    first = page.locator(ROWS).nth(0)
    start = first.locator('[data-edge="start"]')
    start.focus()
    start.fill("0:12")
    start.press("Enter")
    expect(start).to_have_value("0:11.80")                 # the nearest word start
    start.fill("1:7x")
    start.press("Enter")
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(first.locator(".segment-typing")).to_contain_text("Type a time such as 1:05.2")
    start.fill("13.6")
    start.press("Enter")
    expect(start).to_have_value("0:13.60")
    expect(first.locator(".segment-typing")).to_have_text("")

    page.keyboard.press("]")                              # start one word later
    expect(start).to_have_value("0:15.40")
    page.keyboard.press("[")
    page.keyboard.press("[")
    expect(start).to_have_value("0:11.80")
    page.keyboard.press("}")                              # end one word later
    expect(first.locator('[data-edge="end"]')).to_have_value("0:41.80")
    page.keyboard.press("{")
    expect(first.locator('[data-edge="end"]')).to_have_value("0:39.00")

    # Too short: the row says so, and Continue says so too without sending anything.
    end = first.locator('[data-edge="end"]')
    end.fill("0:20")
    end.press("Tab")
    expect(end).to_have_value("0:19.00")
    expect(first.locator(".problem-error:not(.segment-typing)")).to_have_text("Shorter than the 15 s minimum.")
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(page.locator('[data-field="error"]')).to_have_text("Segment 1: Shorter than the 15 s minimum.")
    expect(page.locator('[data-field="error"]')).to_have_attribute("role", "alert")
    assert "/segments" in page.url

    # Overlap with the next segment is marked on both.
    end.fill("1:05")
    end.press("Enter")
    expect(first.locator(".segment-problems")).to_contain_text("Overlaps segment 2.")
    expect(page.locator(ROWS).nth(1).locator(".segment-problems")).to_contain_text("Overlaps segment 1.")

    # Delete on a row removes it; the focus moves to the next row.
    first.get_by_role("button", name="Play segment 1").focus()
    page.keyboard.press("Delete")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(ROWS).nth(0).locator('[data-edge="start"]')).to_be_focused()
    expect(page.locator("#waveform [data-segment]")).to_have_count(1)

    # "a" adds a segment at the playhead (0:00), as long as twice the minimum.
    page.locator("h1").click()
    page.keyboard.press("a")
    expect(page.locator(ROWS)).to_have_count(2)
    assert row_times(page)[0] == ("0:00.00", "0:29.00")   # the word end nearest 0:30
    expect(page.locator(ROWS).nth(0).locator('[data-edge="start"]')).to_be_focused()

    # Space plays and pauses when the focus is not in a text box or on a button.
    page.locator("h1").click()
    page.keyboard.press(" ")
    expect(page.locator('[data-action="play"]')).to_have_text("Pause")
    page.keyboard.press(" ")
    expect(page.locator('[data-action="play"]')).to_have_text("Play")
    assert page.errors == []


def test_sentences_from_the_transcript_become_a_segment(page, waiting):
    open_page(page, waiting)
    sentences = page.locator(".segment-sentences .sentence")
    add = page.get_by_role("button", name="Add as segment")
    expect(add).to_be_disabled()
    sentences.nth(9).click()
    sentences.nth(11).click(modifiers=["Shift"])
    expect(sentences.nth(10)).to_have_attribute("aria-selected", "true")
    expect(page.locator('[data-field="choice"]')).to_have_text(
        "Sentences 10–12 chosen (1:30.0 to 1:59.0, 29.0 s).")
    add.click()
    expect(page.locator(ROWS)).to_have_count(3)
    assert row_times(page)[2] == ("1:30.00", "1:59.00")
    expect(sentences.nth(10)).to_have_attribute("aria-selected", "false")
    expect(sentences.nth(10)).to_have_class(re.compile("in-segment"))

    # The keyboard does the same: Enter, then Shift+Enter on a later sentence.
    page.locator(ROWS).nth(2).get_by_role("button", name="Remove segment 3").click()
    sentences.nth(0).focus()
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Shift+Enter")
    expect(page.locator('[data-field="choice"]')).to_contain_text("Sentences 1–2 chosen")
    add.click()
    assert row_times(page)[0] == ("0:00.00", "0:19.00")
    expect(page.locator(ROWS).nth(0).locator(".segment-problems")).to_contain_text("Overlaps segment 2.")

    page.get_by_role("button", name="Reset to proposal").click()
    assert row_times(page) == [("0:10.00", "0:39.00"), ("1:00.00", "1:29.00")]
    assert page.errors == []


def test_a_finished_run_shows_its_selection_read_only(page, app):
    session_id = make_run(app, state="completed")
    open_page(page, session_id)
    expect(page.locator('[data-field="read-only"]')).to_contain_text("not waiting for a selection")
    expect(page.locator(ROWS)).to_have_count(2)
    expect(page.locator(ROWS).nth(0).locator('[data-edge="start"]')).to_have_attribute("readonly", "")
    expect(page.get_by_role("button", name="Remove segment 1")).to_have_count(0)
    expect(page.get_by_role("button", name="Continue")).to_have_count(0)
    expect(page.locator('#waveform [part~="region-handle"]')).to_have_count(0)
    page.locator(".segment-sentences .sentence").nth(5).click()
    expect(page.locator('[data-field="time"]')).to_have_text("0:50.0 / 2:00.0")
    page.locator("h1").click()
    page.keyboard.press("a")
    expect(page.locator(ROWS)).to_have_count(2)
    assert page.errors == []


def test_the_page_fits_a_phone(page, waiting):
    page.set_viewport_size(PHONE)
    open_page(page, waiting)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(page.get_by_role("button", name="Remove segment 2")).to_be_visible()
    screenshot(page, "segments-7-phone")
    assert page.errors == []


def test_zoom_buttons_and_the_wheel_widen_the_waveform(page, waiting):
    open_page(page, waiting)
    scroll = page.locator('#waveform [part="scroll"]')
    width = lambda: scroll.evaluate("e => e.scrollWidth")  # noqa: E731
    fit = width()
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_function(f"document.querySelector('#waveform').firstElementChild"
                           f".shadowRoot.querySelector('[part=scroll]').scrollWidth > {fit * 1.5}")
    zoomed = width()
    page.get_by_role("button", name="Zoom in").click()
    page.wait_for_function(f"document.querySelector('#waveform').firstElementChild"
                           f".shadowRoot.querySelector('[part=scroll]').scrollWidth > {zoomed * 1.5}")
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    page.get_by_role("button", name="Zoom out").click()
    page.wait_for_function(f"document.querySelector('#waveform').firstElementChild"
                           f".shadowRoot.querySelector('[part=scroll]').scrollWidth <= {fit + 2}")
    box = page.locator('[data-field="waveform"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 40)
    for _ in range(4):
        page.mouse.wheel(0, -120)
    page.wait_for_function(f"document.querySelector('#waveform').firstElementChild"
                           f".shadowRoot.querySelector('[part=scroll]').scrollWidth > {fit * 1.2}")
    # The regions in view stay where their times are at any zoom.
    lefts = page.locator("#waveform [data-segment]").evaluate_all("all => all.map(e => e.style.left)")
    assert lefts and all(min(abs(float(left.rstrip("%")) - start / 120 * 100) for start in (10, 60))
                         < 0.01 for left in lefts)
    assert page.errors == []


def test_an_hour_with_a_thousand_sentences_and_a_hundred_segments_stays_quick(page, app):
    import time

    episode = long_episode()
    session_id = make_run(app, episode=episode, rate=8000)
    began = time.monotonic()
    open_page(page, session_id)
    expect(page.locator(ROWS)).to_have_count(100)
    expect(page.locator(".segment-sentences .sentence")).to_have_count(1000)
    loaded = time.monotonic() - began
    assert loaded < 8, f"the page took {loaded:.1f} s"

    starts = sorted(s["start"] + k * (s["end"] - s["start"]) / 5 for s in episode[1] for k in range(5))
    nearest = lambda t: min(starts, key=lambda start: abs(start - t))  # noqa: E731
    shown = lambda t: f"{int(t // 60)}:{t % 60:05.2f}"  # noqa: E731
    row = page.locator(ROWS).nth(50)
    start = row.locator('[data-edge="start"]')
    timings = []
    for typed, target in (("30:05", 1805.0), ("1806.5", 1806.5), ("30:10.1", 1810.1)):
        start.fill(typed)
        began = time.monotonic()
        start.press("Enter")
        expect(row.locator('[data-edge="start"]')).to_have_value(shown(nearest(target)))
        timings.append(time.monotonic() - began)
    assert max(timings) < 1.0, timings
    page.screenshot(path=str(screenshot(page, "segments-6-hour")))   # the view, not the whole list
    page.keyboard.press("]")
    later = next(value for value in starts if value > nearest(1810.1) + 0.001)
    expect(row.locator('[data-edge="start"]')).to_have_value(shown(later))
    # The transcript follows the segment being edited.
    expect(page.locator(".segment-sentences .sentence").nth(503)).to_be_in_viewport()
    with app.app_context():
        app.extensions["pipeline"].cancel(session_id)
    assert page.errors == []
