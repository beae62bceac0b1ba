"""Batches through the live server: a loopback podcast feed whose enclosures are the committed
fixtures, expanded by yt-dlp, run entry by entry and watched with a real Socket.IO client."""
import json
import shutil
import time
import uuid
from pathlib import Path

import psutil
import pytest
import requests

from tests.conftest import FIXTURES, SPEECH_WORDS, RecordingClient, assert_heard
from tests.media_support import write_feed
from tests.server_support import base_url, run_status, wait_for, wait_state

TAG = uuid.uuid4().hex[:8]
FEED_ITEMS = [("Episode one: <b>speech</b>", "speech.mp4", "0:23"),
              ("Episode two: topics", "topics.m4a", "2:04"),
              ("Episode three: two voices", "two_voices.m4a", None)]
# Words each fixture's transcript must hold (from speech.txt, topics.txt, two_voices.txt).
FIXTURE_WORDS = {"speech.mp4": SPEECH_WORDS, "topics.m4a": ("coffee", "Mars", "sourdough"),
                 "two_voices.m4a": ("lighthouse", "island")}


def batch_finished(received):
    return any(kind == "batch_completion" for kind, *_ in received)


def stored_batch_events(server, batch_id):
    answer = requests.get(f"{base_url(server)}/api/batches/{batch_id}/events?since=0", timeout=10)
    assert answer.status_code == 200
    return [(item["event"], item["data"]) for item in answer.json()["events"]]


def batch_snapshot(server, batch_id):
    answer = requests.get(f"{base_url(server)}/api/batches/{batch_id}", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def start_batch(server, body):
    answer = requests.post(f"{base_url(server)}/pipeline/execute", json=body, timeout=60)
    assert answer.status_code == 202, answer.text
    started = answer.json()
    assert list(started) == ["status", "batch_id", "session_ids", "monitoring_enabled"]
    assert started["monitoring_enabled"] is True and started["status"] in ("started", "queued")
    return started


def wait_batch(server, batch_id, timeout=180):
    """Poll the batch snapshot until the batch has ended; returns it."""
    def ended():
        snapshot = batch_snapshot(server, batch_id)
        return snapshot if snapshot["state"] != "running" else None

    return wait_for(ended, timeout, interval=0.3,
                    message=f"batch {batch_id} did not end in {timeout} s")


def pipeline_children():
    """The live ffmpeg and Python children of this process (the server runs in it)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and child.name().startswith(("ffmpeg", "python")):
                found.append(child.name())
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.fixture(scope="module")
def site(media_site):
    """The loopback media server; its folder holds this module's feeds."""
    return media_site


@pytest.fixture(scope="module")
def feed_url(site):
    """The feed of the three fixtures (their URLs carry a query no other test uses, so none of
    their episode folders exists yet)."""
    items = [(title, f"{name}?feed={TAG}", length) for title, name, length in FEED_ITEMS]
    return write_feed(site.folder, f"podcast-{TAG}.rss", site.url, items, title="Fixture <show>")


@pytest.fixture(scope="module")
def watched_batch(live_server, feed_url):
    """The feed run as one batch of stages 1-2, watched by a socket client that leaves after
    the first entry has completed and comes back with its last seq."""
    started = start_batch(live_server, {"youtube_url": feed_url, "selected_stages": [1, 2]})
    batch_id = started["batch_id"]
    first = RecordingClient(live_server.url).connect()
    first.emit("subscribe_batch", {"batch_id": batch_id, "last_seq": 0})
    first.wait_for(lambda got: any(k == "batch_entry" and d["position"] == 1
                                   and d["state"] == "completed" for k, d, _ in got), timeout=120)
    first.disconnect()
    kept = first.batch_events()
    # batch events go on while the client is away
    wait_for(lambda: stored_batch_events(live_server, batch_id)[-1][1]["seq"] > kept[-1][1]["seq"],
             timeout=60)
    second = RecordingClient(live_server.url).connect()
    try:
        second.emit("subscribe_batch", {"batch_id": batch_id, "last_seq": kept[-1][1]["seq"]})
        second.wait_for(batch_finished, timeout=240)
        wait_for(lambda: second.batch_events()[-1][1]["seq"]
                 >= stored_batch_events(live_server, batch_id)[-1][1]["seq"], timeout=10)
    finally:
        second.disconnect()
    return {"started": started, "batch_id": batch_id, "first": list(first.received),
            "second": list(second.received), "events": kept + second.batch_events()}


def test_the_feed_becomes_three_runs_in_feed_order(live_server, watched_batch, feed_url):
    session_ids = watched_batch["started"]["session_ids"]
    assert len(session_ids) == 3 and len(set(session_ids)) == 3
    snapshot = batch_snapshot(live_server, watched_batch["batch_id"])
    assert snapshot["state"] == "completed" and snapshot["progress"] == 100.0
    assert snapshot["kind"] == "playlist" and snapshot["source"] == feed_url
    assert snapshot["title"] == "Fixture <show>"
    assert [e["title"] for e in snapshot["entries"]] == [title for title, *_ in FEED_ITEMS]
    assert [e["session_id"] for e in snapshot["entries"]] == session_ids
    assert [e["state"] for e in snapshot["entries"]] == ["completed"] * 3
    assert 21 < snapshot["entries"][0]["duration"] < 25   # the media's own length, once known
    assert snapshot["estimated_remaining"] == 0.0 and snapshot["time_elapsed"] > 0
    for session_id, (_, name, _) in zip(session_ids, FEED_ITEMS):
        run = run_status(live_server, session_id)
        assert run["url"].endswith(f"/{name}?feed={TAG}") and run["selected_stages"] == [1, 2]
        assert run["episode_directory"].startswith(Path(name).stem)


def test_each_run_page_links_to_its_batch(live_server, watched_batch):
    for session_id in watched_batch["started"]["session_ids"]:
        page = requests.get(f"{live_server.url}/runs/{session_id}", timeout=10).text
        assert f'href="/batches/{watched_batch["batch_id"]}">Fixture &lt;show&gt;</a>' in page


def test_runs_complete_in_order_one_at_a_time(live_server, watched_batch):
    spans = []
    for session_id in watched_batch["started"]["session_ids"]:
        stored = requests.get(f"{live_server.url}/api/pipeline/events/{session_id}",
                              timeout=10).json()["events"]
        spans.append((stored[0]["data"]["timestamp"], stored[-1]["data"]["timestamp"]))
        assert stored[-1]["event"] == "pipeline_completion"
    for (_, ended), (began, _) in zip(spans, spans[1:]):
        assert ended <= began, "a run started before the one ahead of it had ended"
    order = []
    for kind, event in watched_batch["events"]:
        if kind == "batch_entry" and event["state"] in ("running", "completed"):
            if not order or order[-1] != (event["position"], event["state"]):
                order.append((event["position"], event["state"]))
    assert order == [(1, "running"), (1, "completed"), (2, "running"), (2, "completed"),
                     (3, "running"), (3, "completed")]


def test_transcripts_say_what_the_fixtures_say(live_server, watched_batch):
    episodes = Path(live_server.app.extensions["pipeline"].episodes_root)
    for session_id, (_, name, _) in zip(watched_batch["started"]["session_ids"], FEED_ITEMS):
        folder = episodes / run_status(live_server, session_id)["episode_directory"]
        text = json.loads((folder / "transcript.json").read_text("utf-8"))["text"]
        assert_heard(text, FIXTURE_WORDS[name])


def test_batch_events_are_gapless_across_the_reconnect(live_server, watched_batch):
    events = watched_batch["events"]
    seqs = [event["seq"] for _, event in events]
    assert seqs == list(range(1, len(seqs) + 1))
    assert watched_batch["first"][0][0] == "batch_snapshot"
    assert watched_batch["second"][0][0] == "batch_snapshot"
    assert all(event["batch_id"] == watched_batch["batch_id"] for _, event in events)
    assert stored_batch_events(live_server, watched_batch["batch_id"]) == events
    assert events[-1][0] == "batch_completion" and events[-1][1]["state"] == "completed"
    snapshot = batch_snapshot(live_server, watched_batch["batch_id"])
    assert snapshot["last_seq"] == seqs[-1]


def test_overall_progress_never_goes_down_and_time_left_comes_down(watched_batch):
    summaries = [event for kind, event in watched_batch["events"] if kind == "batch_progress"]
    values = [event["progress"] for event in summaries]
    assert len(values) > 5 and values == sorted(values) and values[-1] == 100.0
    remaining = [event["estimated_remaining"] for event in summaries]
    assert remaining[0] > 0 and remaining[-1] == 0.0
    elapsed = [event["time_elapsed"] for event in summaries]
    assert elapsed == sorted(elapsed)
    # Weighted by expected duration: the 2-minute episode moves the bar more than the 23 s one.
    at = {}
    for kind, event in watched_batch["events"]:
        if kind == "batch_entry" and event["state"] == "completed":
            at.setdefault(event["position"], None)
        if kind == "batch_progress":
            for position in at:
                if at[position] is None:
                    at[position] = event["progress"]
    assert at[1] < at[2] - at[1], at


def test_resubmitting_the_feed_reuses_the_finished_entries(live_server, feed_url, watched_batch):
    started = start_batch(live_server, {"youtube_url": feed_url, "selected_stages": [1, 2]})
    assert started["batch_id"] != watched_batch["batch_id"]
    assert wait_batch(live_server, started["batch_id"], timeout=60)["state"] == "completed"
    for session_id in started["session_ids"]:
        stages = run_status(live_server, session_id)["stages"]
        assert [stage["status"] for stage in stages] == ["reused", "reused"]


def test_a_url_list_runs_each_url_once(live_server, site, watched_batch):
    first, second = (f"{site.url}/{name}?feed={TAG}" for name in ("speech.mp4", "topics.m4a"))
    started = start_batch(live_server, {"urls": f"{first}\n\n# comment\n{second}\n{first}\n",
                                        "selected_stages": [1, 2]})
    assert len(started["session_ids"]) == 2
    snapshot = wait_batch(live_server, started["batch_id"], timeout=60)
    assert snapshot["kind"] == "urls" and [e["url"] for e in snapshot["entries"]] == [first, second]


def test_items_choose_entries_of_the_feed(live_server, feed_url, watched_batch):
    started = start_batch(live_server, {"youtube_url": feed_url, "selected_stages": [1, 2],
                                        "playlist_items": "3,1"})
    snapshot = wait_batch(live_server, started["batch_id"], timeout=60)
    assert [e["title"] for e in snapshot["entries"]] == [FEED_ITEMS[0][0], FEED_ITEMS[2][0]]


def test_retry_failed_reruns_only_the_failed_entry(live_server, site, watched_batch):
    missing = f"late-{uuid.uuid4().hex[:8]}.mp4"
    feed = write_feed(site.folder, f"retry-{uuid.uuid4().hex[:6]}.xml", site.url,
                      [("Arrives", "speech.mp4", "0:23"), ("Arrives late", missing, None)])
    started = start_batch(live_server, {"youtube_url": feed, "selected_stages": [1, 2]})
    done, late = started["session_ids"]
    ended = wait_batch(live_server, started["batch_id"], timeout=90)
    assert ended["state"] == "completed_with_errors"
    assert [e["state"] for e in ended["entries"]] == ["completed", "failed"]
    assert "404" in ended["entries"][1]["error"]
    events_of_done = len(requests.get(f"{live_server.url}/api/pipeline/events/{done}",
                                      timeout=10).json()["events"])

    shutil.copy(FIXTURES / "speech.mp4", site.folder / missing)   # the file arrives
    answer = requests.post(f"{live_server.url}/api/batches/{started['batch_id']}/retry",
                           json={}, timeout=10)
    assert answer.status_code == 200 and answer.json()["session_ids"] == [late]
    again = wait_batch(live_server, started["batch_id"], timeout=90)
    assert again["state"] == "completed" and again["progress"] == 100.0
    assert wait_state(live_server, late)["state"] == "completed"
    assert len(requests.get(f"{live_server.url}/api/pipeline/events/{done}",
                            timeout=10).json()["events"]) == events_of_done
    events = stored_batch_events(live_server, started["batch_id"])
    assert [e["seq"] for _, e in events] == list(range(1, len(events) + 1))
    assert [e["state"] for k, e in events if k == "batch_completion"] == [
        "completed_with_errors", "completed"]
    values = [e["progress"] for k, e in events if k == "batch_progress"]
    assert values == sorted(values)
    nothing = requests.post(f"{live_server.url}/api/batches/{started['batch_id']}/retry",
                            json={}, timeout=10).json()
    assert nothing["status"] == "nothing_to_retry"


def test_cancel_all_stops_every_entry_and_leaves_no_child_process(live_server, any_media):
    urls = "\n".join(f"{any_media}/long/cancel-{uuid.uuid4().hex[:8]}.mp4" for _ in range(3))
    started = start_batch(live_server, {"urls": urls, "selected_stages": [1, 2]})
    watcher = RecordingClient(live_server.url).connect()
    try:
        watcher.emit("subscribe", {"session_id": started["session_ids"][0]})
        watcher.wait_for(lambda got: any(k == "pipeline_progress" and d["sub_stage"] == "Transcribing"
                                         and d["sub_progress"] for k, d, _ in got), timeout=120)
        assert pipeline_children(), "transcription should run in a child process"
        asked = time.monotonic()
        answer = requests.post(f"{live_server.url}/api/batches/{started['batch_id']}/cancel",
                               json={}, timeout=10)
        assert answer.status_code == 200 and answer.json()["cancelled"] == 3
        ended = wait_batch(live_server, started["batch_id"], timeout=15)
        assert time.monotonic() - asked < 5
    finally:
        watcher.disconnect()
    assert ended["state"] == "cancelled"
    assert [e["state"] for e in ended["entries"]] == ["cancelled"] * 3
    assert pipeline_children() == []
    for session_id in started["session_ids"][1:]:   # the queued ones never started
        stored = requests.get(f"{live_server.url}/api/pipeline/events/{session_id}",
                              timeout=10).json()["events"]
        assert [item["event"] for item in stored] == ["pipeline_completion"]


def test_a_batch_cut_short_by_a_dead_server_ends_and_retries(tmp_path, any_media):
    """SIGKILL mid-batch: after the restart the running entry is interrupted, the queued one
    runs, the batch ends completed_with_errors in the database and the page, and Retry failed
    finishes it."""
    import signal

    from tests.server_support import start_server

    urls = [f"{any_media}/long/restart-{uuid.uuid4().hex[:8]}.mp4",
            f"{any_media}/fast/restart-{uuid.uuid4().hex[:8]}.mp4"]
    proc, url = start_server(tmp_path / "data", tmp_path / "server.log")
    try:
        started = start_batch(url, {"urls": "\n".join(urls), "selected_stages": [1, 2]})
        first = started["session_ids"][0]
        wait_state(url, first, states=("running",), timeout=60)
        wait_for(lambda: run_status(url, first)["current_stage"] == 2, timeout=60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc, url = start_server(tmp_path / "data", tmp_path / "server.log")
        ended = wait_batch(url, started["batch_id"], timeout=120)
        assert ended["state"] == "completed_with_errors"
        assert [e["state"] for e in ended["entries"]] == ["interrupted", "completed"]
        page = requests.get(f"{url}/batches/{started['batch_id']}", timeout=10).text
        assert 'data-state="completed_with_errors"' in page
        listed = requests.get(f"{url}/api/batches", timeout=10).json()["batches"][0]
        assert listed["state"] == "completed_with_errors"
        assert requests.post(f"{url}/api/batches/{started['batch_id']}/retry", json={},
                             timeout=10).json()["session_ids"] == [first]
        again = wait_batch(url, started["batch_id"], timeout=120)
        assert again["state"] == "completed"
        assert [s["status"] for s in run_status(url, first)["stages"]] == ["completed", "completed"]
        events = stored_batch_events(url, started["batch_id"])
        assert [e["seq"] for _, e in events] == list(range(1, len(events) + 1))
        values = [e["progress"] for k, e in events if k == "batch_progress"]
        assert values == sorted(values)
    finally:
        proc.terminate()
        proc.wait(15)
