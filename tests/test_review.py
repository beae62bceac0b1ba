"""Manual segment review: a "Clips with review" run waits after stage 4, survives a restart
still waiting, takes a changed selection, and produces exactly the confirmed clips; a waiting
run can be cancelled and resumed, its wait is not running time, and a finished run can be
given a new selection that reruns stages 5-7 only."""
import json
import time

import requests

from services.media.ffmpeg import probe
from tests.conftest import RecordingClient
from tests.server_support import start_run, start_server, wait_state

TOLERANCE = 0.1   # seconds between a confirmed segment and its encoded clip


def _snap_end(words, target):
    """The word end nearest to `target` (as the page snaps a dragged edge)."""
    return min((end for _, end in words), key=lambda end: abs(end - target))


def _new_selection(review):
    """The first proposal trimmed by about 3 s, plus a segment of whole sentences chosen by
    hand after it (the rest of the proposal dropped): what a producer does on the page."""
    first = review["proposed"][0]
    trimmed = {"start": first["start"], "end": _snap_end(review["words"], first["end"] - 3.0)}
    proposed = {(s["start"], s["end"]) for s in review["proposed"]}
    low, high = review["bounds"]["min_seconds"], review["bounds"]["max_seconds"]
    sentences = review["sentences"]
    for index, sentence in enumerate(sentences):
        start = sentence["start"]
        if start < trimmed["end"] + 1:
            continue
        for last in sentences[index:]:
            length = last["end"] - start
            if low + 2 <= length <= high - 2 and (start, last["end"]) not in proposed:
                return [trimmed, {"start": start, "end": last["end"]}]
    raise AssertionError("the fixture has no free stretch of sentences")


def test_a_review_run_waits_survives_a_restart_and_makes_the_confirmed_clips(tmp_path, media_server):
    data_dir, log_path = tmp_path / "data", tmp_path / "server.log"
    server, url = start_server(data_dir, log_path)
    try:
        session_id = start_run(url, f"{media_server}/topics.m4a?review", None,
                               preset="Clips with review")
        watcher = RecordingClient(url).connect()
        watcher.emit("subscribe", {"session_id": session_id, "last_seq": 0})
        waiting = watcher.wait_kind_where(
            "pipeline_progress", lambda d: d["status"] == "awaiting_selection", timeout=400)
        assert waiting["review_url"] == f"/runs/{session_id}/segments"
        watcher.disconnect()
        snapshot = wait_state(url, session_id, ("awaiting_selection",), timeout=10)
        assert [s["status"] for s in snapshot["stages"]][4:] == ["pending"] * 3
    finally:
        server.terminate()
        server.wait(30)

    server, url = start_server(data_dir, log_path)
    try:
        snapshot = requests.get(f"{url}/api/pipeline/status/{session_id}", timeout=5).json()
        assert snapshot["state"] == "awaiting_selection"   # the restart kept it waiting
        elapsed_before = snapshot["time_elapsed"]
        time.sleep(1.5)   # kept: the clock moves on while the run waits, and must not count it
        again = requests.get(f"{url}/api/pipeline/status/{session_id}", timeout=5).json()
        assert again["time_elapsed"] == elapsed_before     # waiting is not running time
        review = requests.get(f"{url}/api/runs/{session_id}/segments", timeout=5).json()
        assert review["awaiting"] and review["status"] == "proposed" and review["proposed"]
        chosen = _new_selection(review)

        watcher = RecordingClient(url).connect()
        watcher.emit("subscribe", {"session_id": session_id, "last_seq": 0})
        sent = requests.post(f"{url}/runs/{session_id}/segments", json={"segments": chosen},
                             timeout=10)
        assert sent.status_code == 200, sent.text
        stored = sent.json()["segments"]
        assert [(s["start"], s["end"]) for s in stored] == [
            (round(c["start"], 3), round(c["end"], 3)) for c in chosen]
        watcher.wait_for(lambda got: any(k == "pipeline_completion" for k, *_ in got), timeout=400)
        watcher.disconnect()
        final = wait_state(url, session_id, ("completed", "failed"), timeout=10)
        assert final["state"] == "completed", final["error"]
    finally:
        server.terminate()
        server.wait(30)

    folder = data_dir / "episodes" / final["episode_directory"]
    saved = json.loads((folder / "segments.json").read_text())
    assert saved["status"] == "confirmed" and len(saved["proposed"]) == len(review["proposed"])
    clips = sorted((folder / "clips").glob("*.m4a"))
    assert len(clips) == len(chosen)
    for clip, segment in zip(clips, stored):
        measured = probe(clip)["duration"]
        assert abs(measured - (segment["end"] - segment["start"])) <= TOLERANCE, (clip.name, measured, segment)

    events = watcher.run_events()
    seqs = [e["seq"] for _, e in events]
    assert seqs == list(range(1, len(seqs) + 1))   # one gapless sequence across the wait
    progress = [e["progress"] for k, e in events if k == "pipeline_progress"]
    assert progress == sorted(progress) and progress[-1] == 100.0
    stages_run = {e["to_stage"] for k, e in events if k == "pipeline_transition"}
    assert {5, 6, 7} <= stages_run


def test_cancel_resume_and_a_new_selection(live_server, client, media_server):
    url = live_server.url
    session_id = start_run(url, f"{media_server}/speech.mp4?review", [1, 2, 3, 4, 5], options={
        "review_segments": "on", "clip_min_seconds": 2, "clip_max_seconds": 8})
    wait_state(url, session_id, ("awaiting_selection",), timeout=200)

    # Cancel works while waiting, and a resume puts the run back to waiting.
    cancelled = requests.post(f"{url}/api/pipeline/cancel/{session_id}", json={}, timeout=5).json()
    assert cancelled["status"] == "cancelled"
    assert client.get(f"/api/pipeline/status/{session_id}").get_json()["state"] == "cancelled"
    resumed = requests.post(f"{url}/api/pipeline/resume/{session_id}", json={}, timeout=5).json()
    assert resumed["status"] == "awaiting_selection"

    review = client.get(f"/api/runs/{session_id}/segments").get_json()
    duration = review["duration"]
    refusals = [([], "empty_selection", 400), ([{"start": 0, "end": duration + 5}], "outside_media", 400),
                ([{"start": 0, "end": 1}], "too_short", 400),
                ([{"start": 0, "end": 3}, {"start": 2, "end": 6}], "overlap", 400),
                ([{"start": 0, "end": min(duration, 12)}], "needs_confirmation", 409)]
    for segments, code, status in refusals:
        answer = requests.post(f"{url}/runs/{session_id}/segments", json={"segments": segments}, timeout=5)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    assert client.get(f"/api/pipeline/status/{session_id}").get_json()["state"] == "awaiting_selection"
    long_one = [{"start": 0, "end": min(duration, 12)}]
    answer = requests.post(f"{url}/runs/{session_id}/segments",
                           json={"segments": long_one, "accept_warnings": True}, timeout=5)
    assert answer.status_code == 200 and answer.json()["warnings"]
    assert wait_state(client, session_id, timeout=120)["state"] == "completed"
    again = requests.post(f"{url}/runs/{session_id}/segments", json={"segments": long_one}, timeout=5)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "not_awaiting_selection")

    # "Re-run with a new selection": stage 4 reused, the run waits, then stage 5 only runs again.
    rerun = requests.post(f"{url}/api/pipeline/reselect/{session_id}", json={}, timeout=5)
    assert rerun.status_code == 202, rerun.text
    new_id = rerun.json()["session_id"]
    snapshot = wait_state(url, new_id, ("awaiting_selection",), timeout=60)
    assert [(s["stage"], s["status"]) for s in snapshot["stages"]] == [(4, "reused"), (5, "pending")]
    current = client.get(f"/api/runs/{new_id}/segments").get_json()
    assert [(s["start"], s["end"]) for s in current["segments"]] == [(0, min(duration, 12))]
    answer = requests.post(f"{url}/runs/{new_id}/segments",
                           json={"segments": [{"start": 1.0, "end": 6.0}]}, timeout=5)
    assert answer.status_code == 200, answer.text
    final = wait_state(client, new_id, timeout=120)
    assert final["state"] == "completed"
    assert [s["status"] for s in final["stages"]] == ["reused", "completed"]
