"""The run page's summary and chapters card and the insights API, from a real 1-5 run."""
import json
import re
import uuid

import pytest
from markupsafe import escape

INSIGHT_FILES = ("analysis.json", "segments.json", "summary.json", "summary.md")


@pytest.fixture(scope="module")
def summarized_run(watch_run, speech_url):
    """A completed run of stages 1-5 in its own episode folder: (session_id, folder)."""
    run = watch_run(speech_url + "?insights", [1, 2, 3, 4, 5],
                    episode=f"insights-{uuid.uuid4().hex[:8]}", timeout=180, socket=False)
    assert run["snapshot"]["state"] == "completed"
    session_id, folder = run["session_id"], run["folder"]
    for name in INSIGHT_FILES:
        assert (folder / name).is_file(), name
    return session_id, folder


@pytest.fixture
def restored(summarized_run):
    """The run's insight files are put back as the pipeline wrote them after the test."""
    _, folder = summarized_run
    saved = {name: (folder / name).read_bytes() for name in INSIGHT_FILES}
    yield folder
    for name, data in saved.items():
        (folder / name).write_bytes(data)


def read(folder, name):
    return json.loads((folder / name).read_text("utf-8"))


def test_run_page_shows_summary_chapters_keywords_and_highlights(client, summarized_run):
    session_id, folder = summarized_run
    summary, segments = read(folder, "summary.json"), read(folder, "segments.json")
    answer = client.get(f"/runs/{session_id}")
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "Summary and chapters" in text
    assert str(escape(summary["summary"].split(". ")[0])) in text
    assert summary["chapters"]
    for chapter in summary["chapters"]:
        assert f'<strong class="chapter-title">{escape(chapter["title"])}</strong>' in text
        assert f'#t={chapter["start"]:.2f}"' in text
    for keyword in summary["keywords"]:
        assert f'<li class="keyword">{escape(keyword)}</li>' in text
    assert segments["segments"]
    for segment in segments["segments"]:
        assert str(escape(segment["reason"])) in text
        assert f'data-end="{segment["end"]:.2f}"' in text
    audio = f'<audio controls preload="none" src="/runs/{session_id}/files/audio_hq.flac"'
    assert audio in text
    assert "words a minute" in text and "% of the audio" in text
    assert re.search(r'<script type="module" src="[^"]*/js/run-detail\.js">', text)


def test_insights_api_gives_the_same_content(client, summarized_run):
    session_id, folder = summarized_run
    summary, segments = read(folder, "summary.json"), read(folder, "segments.json")
    answer = client.get(f"/api/runs/{session_id}/insights")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["summary"] == summary["summary"]
    assert body["keywords"] == summary["keywords"]
    assert [(c["start"], c["title"], c["summary"], c["keywords"]) for c in body["chapters"]] == [
        (c["start"], c["title"], c["summary"], c["keywords"]) for c in summary["chapters"]]
    assert [(s["start"], s["end"], s["reason"]) for s in body["segments"]] == [
        (s["start"], s["end"], s["reason"]) for s in segments["segments"]]


def test_summary_markdown_is_rendered_with_html_and_unsafe_links_disabled(client, summarized_run,
                                                                          restored):
    session_id, folder = summarized_run
    (folder / "summary.md").write_text(
        "# Title <b>bold</b>\n\n## Summary\n\nA **strong** point. <script>alert(1)</script>\n\n"
        "[x](javascript:alert(1)) [y](JAVASCRIPT:alert(2)) [ok](https://example.com/a)\n\n"
        '<img src=x onerror="alert(3)">\n\n## Chapters\n\n### 00:00 Intro\n', "utf-8")
    summary = read(folder, "summary.json")
    summary["chapters"][0]["title"] = "<img src=x onerror=alert(4)>"
    summary["keywords"] = ["<i>term</i>"]
    (folder / "summary.json").write_text(json.dumps(summary), "utf-8")

    text = client.get(f"/runs/{session_id}").get_data(as_text=True)
    assert "<strong>strong</strong>" in text                   # the Markdown is rendered...
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert not re.search(r"href=\"\s*javascript:", text, re.IGNORECASE)
    assert "[x](javascript:alert(1))" in text                  # ...refused links stay text
    assert 'href="https://example.com/a" rel="noopener noreferrer nofollow"' in text
    assert "<img" not in text and "<b>bold" not in text and "<i>term" not in text
    assert "&lt;img src=x onerror=alert(4)&gt;" in text
    assert "&lt;i&gt;term&lt;/i&gt;" in text


@pytest.mark.parametrize("name, content, gone", [
    ("analysis.json", "{not json", "speech-facts"),
    ("analysis.json", "[1, 2]", "speech-facts"),
    ("analysis.json", '{"speech": {"speech_ratio": "high", "pauses": true}, "chapters": 7}',
     "speech-facts"),
    ("segments.json", '{"segments": [{"start": null, "end": "x"}, {"start": 5, "end": 2}]}',
     "highlight-list"),
    ("segments.json", "", "highlight-list"),
    ("summary.json", '{"chapters": [{"start": "soon", "title": 5}], "keywords": {"a": 1}}',
     "chapter-title"),
])
def test_malformed_files_leave_their_part_out(client, summarized_run, restored, name, content,
                                              gone):
    session_id, folder = summarized_run
    before = client.get(f"/runs/{session_id}").get_data(as_text=True)
    assert gone in before
    if name == "summary.json":   # chapters would come from analysis.json instead
        (folder / "analysis.json").write_text("{}", "utf-8")
    (folder / name).write_text(content, "utf-8")
    answer = client.get(f"/runs/{session_id}")
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert gone not in text
    assert "Summary and chapters" in text   # the other parts are still shown
    api = client.get(f"/api/runs/{session_id}/insights")
    assert api.status_code == 200 and isinstance(api.get_json()["chapters"], list)


def test_summary_md_that_is_not_utf8_still_renders(client, summarized_run, restored):
    session_id, folder = summarized_run
    (folder / "summary.md").write_bytes(b"## Summary\n\nCaf\xe9 \xff\xfe text.\n")
    answer = client.get(f"/runs/{session_id}")
    assert answer.status_code == 200
    assert "Caf\ufffd" in answer.get_data(as_text=True)


def test_a_run_without_insight_files_has_no_card_and_empty_api(app, client):
    from storage.database import db
    from storage.models import Run

    session_id = uuid.uuid4().hex
    with app.app_context():
        db.session.add(Run(session_id=session_id, url="https://example.com/a.mp4", title="a",
                           state="completed", selected_stages=[1, 2],
                           episode_dir=f"missing-{session_id[:8]}"))
        db.session.commit()
    page = client.get(f"/runs/{session_id}")
    assert page.status_code == 200
    assert "Summary and chapters" not in page.get_data(as_text=True)
    api = client.get(f"/api/runs/{session_id}/insights")
    assert api.status_code == 200
    assert api.get_json() == {"summary": "", "chapters": [], "keywords": [], "segments": [],
                              "written_by": None}


@pytest.mark.parametrize("session_id", ["unknown-run", "x" * 65])
def test_insights_api_answers_404_json_for_an_unknown_run(client, session_id):
    answer = client.get(f"/api/runs/{session_id}/insights")
    assert answer.status_code == 404
    error = answer.get_json()["error"]
    assert error["code"] == "unknown_run" and error["field"] == "session_id" and error["message"]
