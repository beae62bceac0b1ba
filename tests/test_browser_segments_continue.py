"""Continue on the segment review page in Chromium: a long segment confirmed and the run going
on, the server's refusal shown, and a real "Clips with review" run edited on the page to its
clips."""
import re

import pytest
from playwright.sync_api import expect

from storage.models import FINISHED_STATES
from tests.browser_support import screenshot
from tests.segment_support import ROWS, drag, open_page, row_times, seconds, waiting  # noqa: F401
from tests.server_support import start_run, wait_state


def unexpected(errors):
    """Page errors other than Chromium's note on a refused request (a 409 the page handles)."""
    return [error for error in errors if "the server responded with a status of 409" not in error]


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
    from storage.database import db
    from storage.models import Run

    session_id = start_run(live_server, f"{media_server}/topics.m4a?segments-{uuid.uuid4().hex[:8]}",
                           None, preset="Clips with review")
    state = wait_state(live_server, session_id, ("awaiting_selection", *FINISHED_STATES),
                       timeout=400)["state"]
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
