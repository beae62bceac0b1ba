"""Bad batch input gets a 4xx JSON error or a form message naming what is wrong, never a 500;
the batch pages, the JSON list, the socket subscription's refusals and the terminal's bars."""
import io
import subprocess
import sys
import uuid

import pytest
import requests

from tests.conftest import RecordingClient
from tests.media_support import write_feed
from tests.server_support import ROOT, csrf_token, wait_for, wait_state


@pytest.fixture(scope="module")
def site(media_site):
    """The loopback media server; its folder holds this module's feeds."""
    return media_site


def refused(client, body, status=400):
    answer = client.post("/pipeline/execute", json=body)
    assert answer.status_code == status, answer.get_data(as_text=True)
    return answer.get_json()["error"]


def test_an_empty_feed_is_refused(client, site):
    feed = write_feed(site.folder, "empty.rss", site.url, [])
    error = refused(client, {"youtube_url": feed})
    assert error["code"] == "empty_playlist" and error["field"] == "youtube_url"


def test_a_feed_with_no_media_is_refused(client, site):
    feed = write_feed(site.folder, "articles.rss", site.url,
                      [("An article", None, None), ("Another article", None, "3:00")])
    error = refused(client, {"youtube_url": feed})
    assert error["code"] == "no_media" and "enclosure" in error["message"]


def test_a_feed_that_is_not_there_is_refused(client, site):
    error = refused(client, {"youtube_url": f"{site.url}/gone.rss"})
    assert error["code"] == "playlist_unreadable" and "404" in error["message"]


def test_more_entries_than_the_limit_are_refused(client, site, app, monkeypatch):
    monkeypatch.setitem(app.extensions["pipeline"].settings["batches"], "max_entries", 2)
    # Each item names the same file: the three URLs are made different by a query.
    feed = write_feed(site.folder, "three.rss", site.url,
                      [(f"Part {n}", f"speech.mp4?part={n}", None) for n in range(3)])
    error = refused(client, {"youtube_url": feed})
    assert error["code"] == "too_many_entries" and "at most 2" in error["message"]
    error = refused(client, {"urls": "\n".join(f"{site.url}/{n}.mp4" for n in range(3))})
    assert error["code"] == "too_many_entries"


@pytest.mark.parametrize("items", ["1-", "0", "5-2", "²", "1;3", "x" * 300, "1-999999"])
def test_a_malformed_range_is_refused(client, site, items):
    feed = write_feed(site.folder, "ranged.rss", site.url, [("One", "speech.mp4", None)])
    error = refused(client, {"youtube_url": feed, "playlist_items": items})
    assert error["code"] == "invalid_range" and error["field"] == "playlist_items"


def test_a_url_list_with_bad_lines_names_each(client):
    error = refused(client, {"urls": "https://ok.example/a.mp4\nftp://x.example/b\n<script>\n"})
    assert error["code"] == "invalid_lines" and error["field"] == "urls"
    assert "line 2 ('ftp://x.example/b')" in error["message"]
    assert "line 3 ('<script>')" in error["message"]


def test_several_lines_in_the_url_field_are_a_url_list(client):
    error = refused(client, {"youtube_url": "https://ok.example/a.mp4\nnot-a-url"})
    assert error["code"] == "invalid_lines" and "line 2 ('not-a-url')" in error["message"]


@pytest.mark.parametrize("body, code", [
    ({"source": "everything"}, "invalid_source"),
    ({"source": "urls"}, "empty_list"),
    ({"urls": ["https://ok.example/a.mp4", 5]}, "invalid_list"),
    ({"url_file": "https://ok.example/a.mp4"}, "invalid_list"),
    ({"urls": "https://ok.example/a.mp4", "episode_directory": "../up"}, "path_traversal"),
    ({"urls": "https://ok.example/a.mp4", "preset": "No such preset"}, "unknown_preset"),
])
def test_other_bad_batch_bodies_are_refused(client, body, code):
    assert refused(client, body)["code"] == code


def test_an_uploaded_list_is_checked_line_by_line(live_server):
    lines = b"https://ok.example/a.mp4\nhttp://\n"
    answer = requests.post(f"{live_server.url}/pipeline/execute",
                           files={"url_file": ("list.txt", io.BytesIO(lines), "text/plain")},
                           data={"selected_stages": "1"}, headers={"Accept": "application/json",
                                                                   "X-CSRF-Token": "none"},
                           timeout=10)
    assert answer.status_code == 403   # no CSRF token of a session: refused before anything
    session = requests.Session()
    page = session.get(f"{live_server.url}/", timeout=10).text
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    for content, code in ((lines, "invalid_lines"), (b"\xff\xfe\x00bad", "invalid_list")):
        answer = session.post(f"{live_server.url}/pipeline/execute",
                              files={"url_file": ("list.txt", io.BytesIO(content), "text/plain")},
                              data={"selected_stages": "1", "csrf_token": token},
                              headers={"Accept": "application/json"}, timeout=10)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == code
        assert answer.json()["error"]["field"] == "url_file"
    assert "line 2 ('http://')" in session.post(
        f"{live_server.url}/pipeline/execute",
        files={"url_file": ("list.txt", io.BytesIO(lines), "text/plain")},
        data={"selected_stages": "1", "csrf_token": token},
        headers={"Accept": "application/json"}, timeout=10).json()["error"]["message"]


def test_the_form_shows_the_message_in_the_page(client):
    answer = client.post("/pipeline/execute", data={
        "youtube_url": "", "urls": "https://ok.example/a.mp4\n<b>bold</b>",
        "selected_stages": "1", "csrf_token": csrf_token(client)},
        headers={"Accept": "text/html"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "<!doctype html>" in page.lower()
    assert "line 2 (&#39;&lt;b&gt;bold&lt;/b&gt;&#39;)" in page
    assert "<b>bold</b>" not in page.split("</textarea>")[1]


@pytest.mark.parametrize("path", ["/batches/nope", "/batches/" + "x" * 40, "/batches/ab%24c",
                                  "/batches/%C3%A9t%C3%A9", "/batches/UPPER"])
def test_unknown_batches_answer_404(client, path):
    assert client.get(path).status_code == 404
    batch_id = path.rsplit("/", 1)[1]
    for method, api in (("get", f"/api/batches/{batch_id}"),
                        ("get", f"/api/batches/{batch_id}/events"),
                        ("post", f"/api/batches/{batch_id}/cancel"),
                        ("post", f"/api/batches/{batch_id}/retry")):
        answer = getattr(client, method)(api, json={} if method == "post" else None)
        assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "unknown_batch"


BATCH_ROUTES = [("get", "/batches/{}"), ("get", "/api/batches/{}"),
                ("get", "/api/batches/{}/events"), ("post", "/api/batches/{}/cancel"),
                ("post", "/api/batches/{}/retry")]


@pytest.mark.parametrize("sent", ["a" * 33, "x" * 40, "ab%24c", "%C3%A9", "UPPER", "%00"])
def test_an_id_no_batch_can_have_gets_the_unknown_batch_answer(client, app, monkeypatch, sent):
    unknown = uuid.uuid4().hex
    expected = {path: getattr(client, method)(path.format(unknown),
                                              json={} if method == "post" else None)
                for method, path in BATCH_ROUTES}

    def refuse(*args):
        raise AssertionError(f"the view was called with {args}")

    batches = app.extensions["batches"]
    for name in ("snapshot", "cancel_all", "retry_failed"):
        monkeypatch.setattr(batches, name, refuse)
    monkeypatch.setattr(batches.store, "has_batch", refuse)
    for method, path in BATCH_ROUTES:
        answer = getattr(client, method)(path.format(sent), json={} if method == "post" else None)
        assert expected[path].status_code == 404, path
        assert (answer.status_code, answer.content_type, answer.get_data(as_text=True)) == (
            expected[path].status_code, expected[path].content_type,
            expected[path].get_data(as_text=True)), path


def test_a_percent_encoded_slash_in_a_batch_id_matches_no_route(client):
    answer = client.get("/api/batches/a%2Fb")
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"
    assert client.post("/api/batches/a%2Fb/cancel", json={}).status_code == 404
    page = client.get("/batches/a%2Fb")
    assert page.status_code == 404 and "text/html" in page.content_type


@pytest.mark.parametrize("since", ["-1", "²", "1" * 20, "x"])
def test_a_bad_since_is_refused(client, since):
    answer = client.get(f"/api/batches/{uuid.uuid4().hex}/events?since={since}")
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "invalid_since"


@pytest.mark.parametrize("message, code", [
    (None, "invalid_message"), ({}, "invalid_batch_id"), ({"batch_id": 7}, "invalid_batch_id"),
    ({"batch_id": "x" * 33}, "invalid_batch_id"), ({"batch_id": "a" * 32}, "unknown_batch"),
    ({"batch_id": "a" * 32, "last_seq": 2 ** 64}, "invalid_last_seq"),
    ({"batch_id": "a" * 32, "last_seq": True}, "invalid_last_seq"),
])
def test_subscribe_batch_refuses_bad_messages(socketio_client, message, code):
    client = socketio_client()
    client.emit("subscribe_batch", message)
    assert client.wait_kind("request_error", timeout=5)["error"]["code"] == code


def test_the_batch_list_page_and_json(client):
    page = client.get("/batches")
    assert page.status_code == 200 and "<h1>Batches</h1>" in page.get_data(as_text=True)
    listed = client.get("/api/batches").get_json()
    assert set(listed) == {"batches", "page", "pages", "total"}
    assert client.get("/batches?format=json").get_json()["total"] == listed["total"]
    assert client.get("/batches?page=²").status_code == 200


def test_the_terminal_shows_a_bar_per_running_entry_and_an_overall_bar(site, tmp_path):
    feed = write_feed(site.folder, f"cli-{uuid.uuid4().hex[:6]}.rss", site.url,
                      [("First talk", "speech.mp4?cli=1", "0:23"),
                       ("Second talk", "speech.mp4?cli=2", "0:23")])
    finished = subprocess.run([sys.executable, "run.py", "process", feed, "--stages", "1,2",
                               "--data-dir", str(tmp_path)], cwd=ROOT, capture_output=True,
                              text=True, timeout=240)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output[-3000:]
    assert "2 entries of " + feed in output
    assert any(line.lstrip().startswith("1. First talk") and "%" in line and "stage" in line
               for line in output.splitlines()), output[-3000:]
    overall = [line for line in output.splitlines() if line.startswith("overall [")]
    assert overall and "100.0%" in overall[-1] and "2 completed" in overall[-1]
    assert output.rstrip().endswith("Batch completed")
    bad = subprocess.run([sys.executable, "run.py", "process", feed, "--items", "9-1",
                          "--data-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1 and "playlist_items" in bad.stderr


def test_a_socket_client_sees_the_snapshot_of_a_finished_batch(live_server, site):
    feed = write_feed(site.folder, f"snap-{uuid.uuid4().hex[:6]}.rss", site.url,
                      [("Snapshot talk", "speech.mp4?snap=1", None)])
    batch_id = requests.post(f"{live_server.url}/pipeline/execute",
                             json={"youtube_url": feed, "selected_stages": [1]},
                             timeout=30).json()["batch_id"]
    watcher = RecordingClient(live_server.url).connect()
    try:
        watcher.emit("subscribe_batch", {"batch_id": batch_id})
        completion = watcher.wait_kind("batch_completion", timeout=60)
        assert completion["state"] == "completed"
        kinds = [kind for kind, *_ in watcher.received]
        assert kinds[0] == "batch_snapshot"
    finally:
        watcher.disconnect()
    page = requests.get(f"{live_server.url}/batches/{batch_id}", timeout=10).text
    assert "Snapshot talk" in page and 'data-state="completed"' in page


def test_a_form_post_of_several_urls_leads_to_the_batch_page(client, site):
    urls = f"{site.url}/speech.mp4?form=1\n{site.url}/speech.mp4?form=2"
    answer = client.post("/pipeline/execute", data={
        "youtube_url": "", "urls": urls, "selected_stages": "1",
        "csrf_token": csrf_token(client)}, headers={"Accept": "text/html"})
    assert answer.status_code == 303
    batch_id = answer.headers["Location"].rsplit("/batches/", 1)[1]
    page = client.get(f"/batches/{batch_id}").get_data(as_text=True)
    assert page.count('class="batch-entry"') == 2
    wait_for(lambda: client.get(f"/api/batches/{batch_id}").get_json()["state"] != "running",
             timeout=60, interval=0.3)
    assert client.get(f"/api/batches/{batch_id}").get_json()["state"] == "completed"


def test_a_batch_that_does_not_fit_in_the_queue_is_refused_whole(client, app, monkeypatch):
    from storage.database import db
    from storage.models import Run

    monkeypatch.setitem(app.extensions["pipeline"].settings["limits"], "max_queued_runs", 1)
    with app.app_context():
        before = db.session.scalar(db.select(db.func.count(Run.id)))
    error = refused(client, {"urls": "\n".join(f"https://ok.example/{n}.mp4" for n in range(3))},
                    status=429)
    assert error["code"] == "queue_full"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Run.id))) == before


def test_a_playlist_that_is_one_video_runs_as_one_run(client, site):
    answer = client.post("/pipeline/execute", json={
        "youtube_url": f"{site.url}/speech.mp4?single=1", "source": "playlist",
        "selected_stages": [1]})
    assert answer.status_code == 202
    assert set(answer.get_json()) == {"status", "session_id", "monitoring_enabled", "duplicate"}
    assert wait_state(client, answer.get_json()["session_id"])["state"] == "completed"


def test_private_entries_of_a_feed_are_refused_when_private_networks_are(client, site, app,
                                                                          monkeypatch):
    monkeypatch.setitem(app.extensions["pipeline"].settings["limits"], "block_private_networks",
                        True)
    write_feed(site.folder, "private.rss", "http://10.1.2.3", [("Inside", "a.mp4", None)])
    error = refused(client, {"youtube_url": f"{site.url}/private.rss"})
    assert error["code"] == "refused_address" and "10.1.2.3" in error["message"]
