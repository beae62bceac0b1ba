"""The run history pages and the route serving a run's files."""
import uuid

import pytest


@pytest.fixture(scope="module")
def finished_run(watch_run, speech_url):
    """A completed run of stages 1-2 in its own episode folder: (session_id, folder)."""
    run = watch_run(speech_url, [1, 2], episode=f"history-{uuid.uuid4().hex[:8]}", timeout=120,
                    socket=False)
    assert run["snapshot"]["state"] == "completed"
    return run["session_id"], run["folder"]


@pytest.fixture(scope="module")
def many_runs(live_server):
    """25 ended runs with markup in their titles (no stage rows: estimates stay untouched)."""
    from storage.database import db
    from storage.models import Run

    marker = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        for number in range(25):
            db.session.add(Run(session_id=uuid.uuid4().hex, url=f"https://example.com/{number}.mp4",
                               title=f"<b>{marker} episode {number}</b>", state="failed",
                               selected_stages=[1], episode_dir=f"missing-{marker}-{number}"))
        db.session.commit()
    return marker


def test_history_pages_through_runs_newest_first(client, many_runs):
    first = client.get("/runs")
    assert first.status_code == 200
    text = first.get_data(as_text=True)
    assert f"&lt;b&gt;{many_runs} episode 24&lt;/b&gt;" in text
    assert f"<b>{many_runs}" not in text
    assert "Page 1 of" in text and 'rel="next"' in text
    second = client.get("/runs?page=2").get_data(as_text=True)
    assert f"{many_runs} episode 4&lt;" in second and f"{many_runs} episode 24&lt;" not in second
    assert 'rel="prev"' in second


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999", "1.5"])
def test_history_accepts_any_page_number(client, many_runs, page):
    assert client.get(f"/runs?page={page}").status_code == 200


def test_run_detail_shows_stage_chart_outputs_and_report(client, finished_run):
    session_id, folder = finished_run
    page = client.get(f"/runs/{session_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.count('class="chart-bar"') == 2
    assert "1. Media Extraction" in text and "2. Transcription" in text
    assert f"/runs/{session_id}/files/transcript.txt" in text
    assert "No report yet" in text

    (folder / "report.html").write_text("<h1>Report</h1><script>alert(1)</script>", "utf-8")
    try:
        text = client.get(f"/runs/{session_id}").get_data(as_text=True)
        assert f"/runs/{session_id}/files/report.html" in text
        report = client.get(f"/runs/{session_id}/files/report.html")
        assert report.status_code == 200
        assert "sandbox" in report.headers["Content-Security-Policy"]
    finally:
        (folder / "report.html").unlink()


def test_run_files_are_served_from_the_episode_folder(client, finished_run):
    session_id, _ = finished_run
    answer = client.get(f"/runs/{session_id}/files/transcript.txt")
    assert answer.status_code == 200
    assert "coffee" in answer.get_data(as_text=True).lower()
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    audio = client.get(f"/runs/{session_id}/files/audio.wav", headers={"Range": "bytes=0-99"})
    assert audio.status_code == 206 and len(audio.data) == 100


@pytest.mark.parametrize("name", [
    "../secret_key", "..%2fsecret_key", "%2e%2e/%2e%2e/secret_key", "sub/../../secret_key",
    "checkpoints.json/..", ".hidden", "no-such-file.txt", "etc/passwd",
])
def test_run_files_outside_the_folder_or_hidden_are_not_found(client, finished_run, name):
    session_id, folder = finished_run
    (folder / ".hidden").write_text("working file", "utf-8")
    answer = client.get(f"/runs/{session_id}/files/{name}")
    assert answer.status_code == 404


@pytest.mark.parametrize("path", ["/runs/unknown", "/runs/" + "x" * 65,
                                  "/runs/unknown/files/transcript.txt"])
def test_unknown_runs_are_not_found(client, path):
    answer = client.get(path)
    assert answer.status_code == 404
    assert "text/html" in answer.content_type
