"""The run page's transcript viewer: the transcript API and the page in Chromium.

One real run of stages 1-3 on the three-topic recording (yt-dlp from loopback, ffmpeg,
faster-whisper, the analysis) gives the episode folder; other runs are rows pointing at folders
built from its files, some of them garbled by hand.
"""
import json
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_support import PHONE, screenshot
from tests.conftest import FIXTURES, assert_heard, assert_timed_in_order

TRUTH = json.loads((FIXTURES / "topics.json").read_text("utf-8"))
TOPIC_WORDS = {"coffee": "coffee", "mars": "mars", "bread": "bread|dough"}
# Words said in the recording (tests/fixtures/topics.txt), most of which the transcript holds.
SAID = ("coffee", "Ethiopia", "farmers", "spacecraft", "Mars", "orbit", "sourdough", "bread",
        "dough", "starter")
AUDIO = '[data-field="transcript-audio"]'
SENTENCES = '[data-field="transcript-sentences"] .sentence'
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def transcribed_run(watch_run, media_server):
    """A completed 1-3 run of topics.m4a: (session_id, episode folder)."""
    run = watch_run(f"{media_server}/topics.m4a?transcript", [1, 2, 3],
                    episode=f"transcript-{uuid.uuid4().hex[:8]}", timeout=300, socket=False)
    assert run["snapshot"]["state"] == "completed"
    session_id, folder = run["session_id"], run["folder"]
    for output in ("audio_hq.flac", "transcript.json", "analysis.json"):
        assert (folder / output).is_file(), output
    return session_id, folder


@pytest.fixture
def make_run(app):
    """Adds a completed run whose episode folder holds the given files; returns its session id."""
    from storage.database import db
    from storage.models import Run

    def make(files):
        session_id = uuid.uuid4().hex
        name = f"viewer-{session_id[:8]}"
        folder = Path(app.extensions["pipeline"].episodes_root) / name
        folder.mkdir(parents=True)
        for file_name, content in files.items():
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            (folder / file_name).write_bytes(data)
        with app.app_context():
            db.session.add(Run(session_id=session_id, url="https://example.com/talk.mp4",
                               title="talk", state="completed", selected_stages=[1, 2, 3],
                               episode_dir=name))
            db.session.commit()
        return session_id

    return make


def read(folder, name):
    return json.loads((folder / name).read_text("utf-8"))


def timed(entries):
    return [{"start": e["start"], "end": e["end"], "text": e["text"].strip()} for e in entries]


# The API ---------------------------------------------------------------------------------------

def test_api_gives_the_sentences_chapters_and_audio(client, transcribed_run):
    session_id, folder = transcribed_run
    answer = client.get(f"/api/runs/{session_id}/transcript")
    assert answer.status_code == 200
    body = answer.get_json()
    assert set(body) == {"sentences", "chapters", "audio", "language", "duration"}
    analysis = read(folder, "analysis.json")
    assert body["sentences"] == timed(analysis["sentences"])
    # How many sentences there are hangs on the punctuation the model writes (it differs between
    # CPUs): only a few are required.
    assert len(body["sentences"]) >= 3
    assert body["language"] == "en"
    assert abs(body["duration"] - TRUTH["duration"]) < 1.0

    assert_timed_in_order(body["sentences"], body["duration"], slack=0)
    # What is said in each topic's stretch of the recording is about that topic.
    for topic in TRUTH["topics"]:
        said = " ".join(s["text"] for s in body["sentences"]
                        if s["start"] < topic["end"] and s["end"] > topic["start"]).lower()
        assert re.search(TOPIC_WORDS[topic["name"]], said), (topic["name"], said)
    assert_heard(" ".join(s["text"] for s in body["sentences"]), SAID)

    assert [c["start"] for c in body["chapters"]] == [c["start"] for c in analysis["chapters"]]
    assert [c["title"] for c in body["chapters"]] == [
        f"Chapter {n}" for n in range(1, len(analysis["chapters"]) + 1)]   # no stage 5: no titles
    assert 2 <= len(body["chapters"]) <= len(TRUTH["topics"]) + 1
    assert_timed_in_order(body["chapters"], body["duration"])

    assert body["audio"] == f"/runs/{session_id}/files/audio_hq.flac"
    audio = client.get(body["audio"], headers={"Range": "bytes=0-3"})
    assert audio.status_code == 206 and audio.data == b"fLaC"


def test_without_analysis_the_transcript_segments_are_used(client, transcribed_run, make_run):
    _, folder = transcribed_run
    transcript = (folder / "transcript.json").read_text("utf-8")
    session_id = make_run({"transcript.json": transcript})
    body = client.get(f"/api/runs/{session_id}/transcript").get_json()
    segments = json.loads(transcript)["segments"]
    assert body["sentences"] == timed(segments) and segments
    assert body["chapters"] == [] and body["audio"] is None
    assert body["language"] == "en" and body["duration"] == json.loads(transcript)["duration"]


def test_audio_wav_is_played_when_there_is_no_hq_audio(client, make_run):
    session_id = make_run({"audio.wav": b"RIFF", "transcript.json": json.dumps(
        {"segments": [{"start": 0.5, "end": 2.0, "text": " Hello there. "}]})})
    body = client.get(f"/api/runs/{session_id}/transcript").get_json()
    assert body["audio"] == f"/runs/{session_id}/files/audio.wav"
    assert body["sentences"] == [{"start": 0.5, "end": 2.0, "text": "Hello there."}]
    assert body["duration"] == 2.0 and body["language"] is None


GOOD_SEGMENT = {"start": 3.0, "end": 4.5, "text": "Coffee grows in the shade."}


@pytest.mark.parametrize("files, expected", [
    ({"analysis.json": "{not json", "transcript.json": json.dumps({"segments": [GOOD_SEGMENT]})},
     [GOOD_SEGMENT]),
    ({"analysis.json": '{"sentences": "many", "chapters": 7, "duration": "long"}',
      "transcript.json": json.dumps({"segments": [GOOD_SEGMENT]})}, [GOOD_SEGMENT]),
    ({"analysis.json": b"\xff\xfe\x00garbage", "transcript.json": "[1, 2]"}, []),
    ({"transcript.json": ""}, []),
    ({"transcript.json": '{"segments": {"start": 1}}'}, []),
    ({"analysis.json": json.dumps({"sentences": [
        {"start": "soon", "end": 2, "text": "bad start"}, {"start": 1, "end": 2, "text": 5},
        {"start": None, "end": 2, "text": "no start"}, {"start": -1, "end": 2, "text": "negative"},
        {"start": True, "end": 2, "text": "boolean"}, {"start": 1, "end": 2, "text": "   "},
        "a string", GOOD_SEGMENT, {"start": 1.0, "end": 0.5, "text": "End before start."}]})},
     [{"start": 1.0, "end": 1.0, "text": "End before start."}, GOOD_SEGMENT]),
    ({"analysis.json": '{"sentences": [{"start": NaN, "end": 1, "text": "nan"}]}'}, []),
])
def test_garbled_files_give_lists_never_an_error(client, make_run, files, expected):
    session_id = make_run(files)
    answer = client.get(f"/api/runs/{session_id}/transcript")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["sentences"] == expected
    assert body["chapters"] == [] and body["audio"] is None
    page = client.get(f"/runs/{session_id}")
    assert page.status_code == 200 and 'id="transcript"' in page.get_data(as_text=True)


@pytest.mark.parametrize("session_id", ["no-such-run", "x" * 65])
def test_api_answers_404_json_for_an_unknown_run(client, session_id):
    answer = client.get(f"/api/runs/{session_id}/transcript")
    assert answer.status_code == 404
    error = answer.get_json()["error"]
    assert error["code"] == "unknown_run" and error["field"] == "session_id" and error["message"]


def test_the_viewer_is_on_the_page_only_with_a_transcript(client, transcribed_run, make_run):
    session_id, _ = transcribed_run
    text = client.get(f"/runs/{session_id}").get_data(as_text=True)
    assert f'data-src="/api/runs/{session_id}/transcript"' in text
    assert "js/transcript-viewer.js" in text
    bare = make_run({"metadata.json": "{}"})
    answer = client.get(f"/runs/{bare}")
    assert answer.status_code == 200 and 'id="transcript"' not in answer.get_data(as_text=True)
    assert client.get(f"/api/runs/{bare}/transcript").get_json() == {
        "sentences": [], "chapters": [], "audio": None, "language": None, "duration": None}


# The page in Chromium --------------------------------------------------------------------------

def audio_near(page, seconds, slack=0.5):
    """Wait until the viewer's player is positioned within `slack` s of `seconds`."""
    page.wait_for_function(f"""(() => {{ const a = document.querySelector('{AUDIO}');
        return a.readyState >= 1 && Math.abs(a.currentTime - {seconds}) < {slack}; }})()""")


def test_clicking_a_sentence_plays_from_it_and_highlights_it(page, client, transcribed_run):
    session_id, _ = transcribed_run
    sentences = client.get(f"/api/runs/{session_id}/transcript").get_json()["sentences"]
    page.goto(f"/runs/{session_id}")
    items = page.locator(SENTENCES)
    expect(items).to_have_count(len(sentences))
    middle = len(sentences) // 2
    expect(items.nth(middle).locator(".sentence-text")).to_have_text(sentences[middle]["text"])
    chapters = client.get(f"/api/runs/{session_id}/transcript").get_json()["chapters"]
    expect(page.locator('[data-field="transcript-chapters"] button')).to_have_count(len(chapters))

    items.nth(middle).click()
    expect(items.nth(middle)).to_have_attribute("aria-current", "true")
    expect(items.nth(middle)).to_have_class(re.compile(r"\bis-current\b"))
    expect(page.locator(f"{SENTENCES}.is-current")).to_have_count(1)
    audio_near(page, sentences[middle]["start"])
    assert page.url.endswith(f"/runs/{session_id}")
    screenshot(page, "transcript-1-playing-sentence")

    # The keyboard: the next sentence by arrow, then Enter plays it.
    page.keyboard.press("ArrowDown")
    expect(items.nth(middle + 1)).to_be_focused()
    page.keyboard.press("Enter")
    audio_near(page, sentences[middle + 1]["start"])
    expect(items.nth(middle + 1)).to_have_attribute("aria-current", "true")
    expect(items.nth(middle)).not_to_have_attribute("aria-current", "true")
    assert page.errors == []


def test_the_current_sentence_is_kept_in_view_without_moving_the_page(page, client,
                                                                    transcribed_run):
    session_id, _ = transcribed_run
    sentences = client.get(f"/api/runs/{session_id}/transcript").get_json()["sentences"]
    page.goto(f"/runs/{session_id}")
    expect(page.locator(SENTENCES)).to_have_count(len(sentences))
    page.locator('[data-field="transcript-panel"]').scroll_into_view_if_needed()
    page_y = page.evaluate("window.scrollY")
    panel = page.locator('[data-field="transcript-panel"]')
    assert panel.evaluate("panel => panel.scrollTop") == 0
    last = sentences[-1]
    page.evaluate(f"document.querySelector('{AUDIO}').currentTime = {last['start'] + 0.1}")
    last_item = page.locator(SENTENCES).last
    expect(last_item).to_have_attribute("aria-current", "true")
    # The panel scrolled (smoothly) until the sentence is inside it; the page did not move.
    page.wait_for_function("""(() => {
        const panel = document.querySelector('[data-field="transcript-panel"]');
        const item = [...panel.querySelectorAll('.sentence')].at(-1);
        const box = panel.getBoundingClientRect(), own = item.getBoundingClientRect();
        return panel.scrollTop > 0 && own.top >= box.top - 1
            && own.bottom <= box.bottom + 1; })()""")
    assert page.evaluate("window.scrollY") == page_y
    chapters = page.locator('[data-field="transcript-chapters"] button')
    expect(chapters.last).to_have_attribute("aria-current", "true")
    assert page.errors == []


def test_search_marks_words_and_steps_through_them(page, client, transcribed_run):
    session_id, _ = transcribed_run
    sentences = client.get(f"/api/runs/{session_id}/transcript").get_json()["sentences"]
    word = "coffee"
    holding = [s for s in sentences for _ in re.finditer(word, s["text"], re.IGNORECASE)]
    total = len(holding)
    assert total >= 3
    page.goto(f"/runs/{session_id}")
    expect(page.locator(SENTENCES)).to_have_count(len(sentences))
    count = page.locator('[data-field="match-count"]')
    expect(count).to_have_attribute("aria-live", "polite")

    search = page.get_by_label("Find words in the transcript")
    search.fill("COFFEE")
    expect(count).to_have_text(f"{total} matches")
    marks = page.locator(f"{SENTENCES} mark")
    expect(marks).to_have_count(total)
    assert {text.lower() for text in marks.all_text_contents()} == {word}

    search.press("Enter")
    expect(count).to_have_text(f"1 of {total} matches")
    expect(marks.nth(0)).to_have_class(re.compile(r"\bcurrent-match\b"))
    audio_near(page, holding[0]["start"])
    search.press("Enter")
    expect(count).to_have_text(f"2 of {total} matches")
    audio_near(page, holding[1]["start"])
    search.press("Shift+Enter")
    search.press("Shift+Enter")
    expect(count).to_have_text(f"{total} of {total} matches")
    expect(page.locator(f"{SENTENCES} mark.current-match")).to_have_count(1)
    audio_near(page, holding[-1]["start"])
    page.get_by_role("button", name="Previous", exact=True).click()
    expect(count).to_have_text(f"{total - 1} of {total} matches")
    screenshot(page, "transcript-2-search")

    search.fill("zebra crossing")
    expect(count).to_have_text("No matches")
    expect(marks).to_have_count(0)
    search.fill("")
    expect(count).to_have_text("")
    # The text is whole again once the marks are gone.
    middle = len(sentences) // 2
    expect(page.locator(SENTENCES).nth(middle).locator(".sentence-text")).to_have_text(
        sentences[middle]["text"])
    assert page.errors == []


def test_a_chapter_seeks_the_player(page, client, transcribed_run):
    session_id, _ = transcribed_run
    chapters = client.get(f"/api/runs/{session_id}/transcript").get_json()["chapters"]
    page.goto(f"/runs/{session_id}")
    buttons = page.locator('[data-field="transcript-chapters"] button')
    expect(buttons).to_have_count(len(chapters))
    buttons.nth(1).click()
    audio_near(page, chapters[1]["start"])
    expect(buttons.nth(1)).to_have_attribute("aria-current", "true")
    assert page.errors == []


def test_outside_text_is_shown_as_text(page, make_run):
    hostile = '<img src=x onerror="window.hacked=1">Hi & <b>bold</b>'
    session_id = make_run({"transcript.json": json.dumps({"segments": [
        {"start": 0.0, "end": 1.0, "text": hostile},
        {"start": 1.0, "end": 2.0, "text": "Fine."}]})})
    page.goto(f"/runs/{session_id}")
    items = page.locator(SENTENCES)
    expect(items).to_have_count(2)
    expect(items.first.locator(".sentence-text")).to_have_text(hostile)
    assert page.locator('[data-field="transcript-sentences"] :is(img, b)').count() == 0
    page.get_by_label("Find words in the transcript").fill("<b>")
    expect(page.locator('[data-field="match-count"]')).to_have_text("1 match")
    expect(page.locator('[data-field="transcript-player"]')).to_be_hidden()
    expect(page.locator('[data-field="transcript-status"]')).to_contain_text("no audio file")
    assert page.evaluate("window.hacked") is None
    assert page.errors == []


def test_the_viewer_fits_a_phone(page, transcribed_run):
    session_id, _ = transcribed_run
    page.set_viewport_size(PHONE)
    page.goto(f"/runs/{session_id}")
    expect(page.locator(SENTENCES).first).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "transcript-3-phone")
    assert page.errors == []


def test_an_hour_of_sentences_builds_and_follows_quickly(page, make_run, transcribed_run):
    _, folder = transcribed_run
    sentences = [{"start": i * 3.6, "end": i * 3.6 + 3.2,
                  "text": f"Sentence number {i} about coffee."}
                 for i in range(1000)]
    session_id = make_run({"analysis.json": json.dumps({"sentences": sentences, "duration": 3600}),
                           "audio_hq.flac": (folder / "audio_hq.flac").read_bytes()})
    page.goto(f"/runs/{session_id}")
    expect(page.locator(SENTENCES)).to_have_count(1000)
    # A seek far into the list marks sentence 30 (the audio is two minutes long).
    page.evaluate(f"document.querySelector('{AUDIO}').currentTime = {30 * 3.6 + 1}")
    expect(page.locator(SENTENCES).nth(30)).to_have_attribute("aria-current", "true")
    elapsed = page.evaluate("""(() => { const input = document.querySelector('#transcript-query');
        const started = performance.now(); input.value = 'coffee';
        input.form.requestSubmit(); return performance.now() - started; })()""")
    expect(page.locator('[data-field="match-count"]')).to_have_text("1 of 1000 matches")
    assert elapsed < 1000, elapsed
    assert page.errors == []
