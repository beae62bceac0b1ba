"""Runs waiting for a segment selection, stored as stage 4 leaves them (episode files written
here), so the segment page can be tested without processing media first; and helpers for that
page in Chromium."""
import json
import uuid
import wave
from pathlib import Path

import numpy as np
import pytest

DURATION = 120.0
RATE = 16_000
SENTENCES = [{"index": n, "start": n * 10.0, "end": n * 10.0 + 9.0, "text": f"Sentence <b>{n}</b>."}
             for n in range(12)]
PROPOSED = [(10.0, 39.0), (60.0, 89.0)]
ROWS = ".segment-list .segment-row"   # the page's segment rows


def _words(sentence):
    """Five words spread over the sentence."""
    step = (sentence["end"] - sentence["start"]) / 5
    return [{"word": f" w{k}", "start": sentence["start"] + k * step,
             "end": sentence["start"] + (k + 1) * step} for k in range(5)]


def long_episode(hours=1.0, sentences=1000, segments=100):
    """(duration, sentences, proposal) of a long recording: evenly spread sentences and segments."""
    duration = hours * 3600
    spacing = duration / sentences
    made = [{"index": n, "start": round(n * spacing, 3), "end": round(n * spacing + spacing * 0.9, 3),
             "text": f"Sentence {n} of a long talk."} for n in range(sentences)]
    gap = duration / segments
    return duration, made, [(round(k * gap, 3), round(k * gap + 20.0, 3)) for k in range(segments)]


def _write_episode(folder, duration, sentences, proposal, rate):
    """The files stages 1-4 leave: audio.wav (loud first half), transcript, analysis, segments."""
    folder.mkdir(parents=True)
    samples = np.zeros(int(duration * rate), dtype=np.int16)
    samples[: samples.size // 2] = (np.sin(np.arange(samples.size // 2) / 3) * 20_000).astype(np.int16)
    with wave.open(str(folder / "audio.wav"), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    transcript = {"duration": duration, "segments": [
        dict(sentence, words=_words(sentence)) for sentence in sentences]}
    proposed = [{"start": start, "end": end, "duration": end - start, "text": "…", "reason": "Topic",
                 "score": 0.9, "source": "proposed"} for start, end in proposal]
    files = {"transcript.json": transcript,
             "analysis.json": {"duration": duration, "sentences": sentences,
                               "chapters": [{"start": 0.0, "end": duration, "title": "<i>All</i>"}]},
             "segments.json": {"status": "proposed", "segments": proposed, "proposed": proposed}}
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content), encoding="utf-8")


def make_run(app, state="awaiting_selection", audio=True, episode=None, rate=RATE):
    """A run of stages 1-4 that has done them all and is in `state`; returns its session id.

    `episode` is (duration, sentences, proposal); by default two minutes, 12 sentences, 2 segments.
    """
    from storage.database import db
    from storage.models import Run, StageRun, utcnow

    duration, sentences, proposal = episode or (DURATION, SENTENCES, PROPOSED)
    session_id = uuid.uuid4().hex
    name = f"review-{session_id[:8]}"
    folder = Path(app.extensions["pipeline"].episodes_root) / name
    _write_episode(folder, duration, sentences, proposal, rate)
    if not audio:
        (folder / "audio.wav").unlink()
    with app.app_context():
        run = Run(session_id=session_id, url="https://example.com/talk.mp4", title="<b>Talk</b>",
                  state=state, selected_stages=[1, 2, 3, 4], preset="default", options={},
                  settings={"review_segments": True}, episode_dir=name,
                  media_duration=duration, started_at=utcnow(),
                  waiting_since=utcnow() if state == "awaiting_selection" else None)
        run.stage_runs = [StageRun(stage=n, stage_key=key, state="completed") for n, key in
                          enumerate(("media_extraction", "transcription", "content_analysis",
                                     "segment_selection"), start=1)]
        db.session.add(run)
        db.session.commit()
    return session_id


@pytest.fixture
def waiting(app):
    """A run awaiting its selection (cancelled afterwards, so it leaves nothing waiting)."""
    session_id = make_run(app)
    yield session_id
    with app.app_context():
        app.extensions["pipeline"].cancel(session_id)


# --- the segment page in Chromium (tests/test_browser_segments*.py) ---------------------------
def open_page(page, session_id):
    """Open the segment page and wait until the regions are drawn."""
    from playwright.sync_api import expect

    page.goto(f"/runs/{session_id}/segments")
    expect(page.locator("#waveform [data-segment]").first).to_be_attached()
    expect(page.locator('[data-field="load-status"]')).to_have_text("")


def row_times(page):
    """(start, end) text of each segment row."""
    return [(row.locator('[data-edge="start"]').input_value(), row.locator('[data-edge="end"]').input_value())
            for row in page.locator(ROWS).all()]


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
