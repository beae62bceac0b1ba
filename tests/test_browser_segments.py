"""The segment review page in Chromium: the waveform with the selection as regions, trimming by
dragging an edge and by typed times, snapping to words, sentences from the transcript, the keys,
and Continue, from a stored waiting run and from a real "Clips with review" run to its clips."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import PHONE, screenshot
from tests.server_support import wait_state
from tests.segment_support import long_episode, make_run, waiting  # noqa: F401

ROWS = ".segment-list .segment-row"


def unexpected(errors):
    """Page errors other than Chromium's note on a refused request (a 409 the page handles)."""
    return [error for error in errors if "the server responded with a status of 409" not in error]


def open_page(page, session_id):
    """Open the segment page and wait until the regions are drawn."""
    page.goto(f"/runs/{session_id}/segments")
    expect(page.locator("#waveform [data-segment]").first).to_be_attached()
    expect(page.locator('[data-field="load-status"]')).to_have_text("")


def row_times(page):
    """(start, end) text of each segment row."""
    return [(row.locator('[data-edge="start"]').input_value(), row.locator('[data-edge="end"]').input_value())
            for row in page.locator(ROWS).all()]


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


def seconds(text):
    """M:SS.ss as seconds."""
    minutes, rest = text.split(":")
    return int(minutes) * 60 + float(rest)


def drag(page, box_from, dx, steps=12):
    """Press the mouse in the middle of `box_from`, move it `dx` pixels sideways, release."""
    x, y = box_from["x"] + box_from["width"] / 2, box_from["y"] + box_from["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y, steps=steps)
    page.mouse.up()


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


def test_a_long_segment_is_confirmed_then_the_run_goes_on(page, app, live_server, waiting):
    open_page(page, waiting)
    page.locator(ROWS).nth(1).get_by_role("button", name="Remove segment 2").click()
    end = page.locator(ROWS).nth(0).locator('[data-edge="end"]')
    end.fill("1:19")
    end.press("Enter")
    expect(page.locator(ROWS).nth(0).locator(".problem-warning")).to_have_text(
        "Longer than the 60 s maximum; you will be asked to confirm.")
    page.get_by_role("button", name="Continue", exact=True).click()
    confirm = page.locator('[data-field="confirm"]')
    expect(confirm).to_be_visible()
    expect(confirm.locator("li")).to_have_text(["Segment 1 is 69.0 s long, over the 60 s maximum."])
    page.get_by_role("button", name="Keep editing").click()
    expect(confirm).to_be_hidden()
    screenshot(page, "segments-3-before-confirm")

    page.get_by_role("button", name="Continue", exact=True).click()
    page.get_by_role("button", name="Continue anyway").click()
    page.wait_for_url(re.compile(rf"/\?session={waiting}$"))
    assert wait_state(live_server, waiting, timeout=60)["state"] == "completed"
    saved = app.test_client().get(f"/api/runs/{waiting}/segments").get_json()
    assert saved["status"] == "confirmed"
    assert [(s["start"], s["end"]) for s in saved["segments"]] == [(10.0, 79.0)]
    assert unexpected(page.errors) == []


def test_continue_shows_why_the_server_refused(page, app, waiting):
    open_page(page, waiting)
    with app.app_context():
        app.extensions["pipeline"].cancel(waiting)
    page.get_by_role("button", name="Continue", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(
        "This run is cancelled, not waiting for a selection.")
    assert "/segments" in page.url
    assert unexpected(page.errors) == []


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

def free_sentences(review, taken):
    """(first, last) sentence indexes of a stretch no segment in `taken` touches, lasting between
    the minimum + 1 s and the maximum: what a producer adds from the transcript."""
    low, high = review["bounds"]["min_seconds"], review["bounds"]["max_seconds"]
    sentences = review["sentences"]
    for first, sentence in enumerate(sentences):
        start = sentence["start"]
        if any(a - 1 < start < b + 1 for a, b in taken):
            continue
        for last in range(first, len(sentences)):
            end = sentences[last]["end"]
            if any(a < end + 1 and start < b for a, b in taken) or end - start > high:
                break
            if end - start >= low + 1:
                return first, last
    raise AssertionError("the recording has no free stretch of sentences")


def test_a_review_run_makes_the_clips_chosen_on_the_page(page, app, live_server, media_server):
    import uuid
    from pathlib import Path

    import requests

    from services.media.ffmpeg import probe
    from tests.server_support import run_status
    from storage.database import db
    from storage.models import Run

    body = {"youtube_url": f"{media_server}/topics.m4a?segments-{uuid.uuid4().hex[:8]}",
            "preset": "Clips with review"}
    answer = requests.post(f"{live_server.url}/pipeline/execute", json=body, timeout=10)
    assert answer.status_code == 202, answer.text
    session_id = answer.json()["session_id"]
    for _ in range(2000):
        state = run_status(live_server, session_id)["state"]
        if state != "running" and state != "queued":
            break
        page.wait_for_timeout(200)
    assert state == "awaiting_selection"
    review = requests.get(f"{live_server.url}/api/runs/{session_id}/segments", timeout=10).json()
    assert review["awaiting"] and len(review["segments"]) >= 1

    open_page(page, session_id)
    rows = page.locator(ROWS)
    expect(rows).to_have_count(len(review["segments"]))
    screenshot(page, "segments-4-real-proposal")

    # Trim the first segment: drag its right edge about 3 s to the left.
    first = review["segments"][0]
    region = page.locator(f'#waveform [data-segment="{rows.nth(0).get_attribute("data-segment")}"]')
    per_second = page.locator('[data-field="waveform"]').bounding_box()["width"] / review["duration"]
    drag(page, region.locator('[part~="region-handle-right"]').bounding_box(), -3 * per_second)
    trimmed_end = seconds(rows.nth(0).locator('[data-edge="end"]').input_value())
    assert first["end"] - 5 < trimmed_end < first["end"] - 1
    assert min(abs(trimmed_end - end) for _, end in review["words"]) < 0.006   # a word's end

    # Remove the last segment, and add one in its place from the transcript: click a sentence,
    # shift-click a later one.
    count = len(review["segments"])
    if count > 1:
        rows.nth(count - 1).get_by_role("button", name=f"Remove segment {count}").click()
        expect(rows).to_have_count(count - 1)
    taken = [(first["start"], trimmed_end)] + [(s["start"], s["end"]) for s in review["segments"][1:-1]]
    low, high = free_sentences(review, taken)
    sentences = page.locator(".segment-sentences .sentence")
    sentences.nth(low).click()
    sentences.nth(high).click(modifiers=["Shift"])
    page.get_by_role("button", name="Add as segment").click()
    expect(rows).to_have_count(max(count, 2))
    chosen = [(seconds(start), seconds(end)) for start, end in row_times(page)]
    added = (review["sentences"][low]["start"], review["sentences"][high]["end"])
    assert any(abs(a - added[0]) < 0.5 and abs(b - added[1]) < 0.5 for a, b in chosen)
    expect(page.locator(".segment-problem.problem-error:not(:empty)")).to_have_count(0)
    screenshot(page, "segments-5-real-edited")

    page.get_by_role("button", name="Continue", exact=True).click()
    page.wait_for_url(re.compile(rf"/\?session={session_id}$"))
    assert wait_state(live_server, session_id, timeout=400)["state"] == "completed"

    saved = requests.get(f"{live_server.url}/api/runs/{session_id}/segments", timeout=10).json()
    assert saved["status"] == "confirmed"
    stored = [(s["start"], s["end"]) for s in saved["segments"]]
    flat = [time for pair in sorted(chosen) for time in pair]
    assert [time for pair in stored for time in pair] == pytest.approx(flat, abs=0.006)
    with app.app_context():
        folder = db.session.scalar(db.select(Run.episode_dir).where(Run.session_id == session_id))
    clips = sorted((Path(app.extensions["pipeline"].episodes_root) / folder / "clips").glob("*.m4a"))
    assert [clip.name for clip in clips] == [f"{n:02d}.m4a" for n in range(1, len(stored) + 1)]
    for clip, (start, end) in zip(clips, stored):
        assert probe(clip)["duration"] == pytest.approx(end - start, abs=0.15), clip.name
    assert page.errors == []
