"""Stages 1-2 on the loopback media URL through the real server and a real Socket.IO client."""
import json
import uuid
from datetime import datetime

import pytest
import requests

from services.stages import get_stage
from tests.conftest import (
    FIXTURES,
    SPEECH_WORDS,
    RecordingClient,
    assert_heard,
    assert_timed_in_order,
)
from tests.server_support import run_events, start_run, wait_for, wait_state


def completed(received):
    return any(kind == "pipeline_completion" for kind, *_ in received)


def parse_time(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def watched_run(watch_run, speech_url):
    """One full run of stages 1-2, watched from its start by one socket client."""
    return watch_run(speech_url, episode=f"test-{uuid.uuid4().hex[:8]}", timeout=180)


def test_snapshot_comes_first(watched_run):
    kind, snapshot, _ = watched_run["received"][0]
    assert kind == "pipeline_snapshot"
    assert snapshot["session_id"] == watched_run["session_id"]
    assert [stage["key"] for stage in snapshot["stages"]] == ["media_extraction", "transcription"]
    assert isinstance(snapshot["last_seq"], int)


def test_seq_is_gapless_unique_and_carries_common_fields(watched_run):
    events = watched_run["events"]
    seqs = [event["seq"] for _, event in events]
    assert seqs == list(range(1, len(seqs) + 1))
    for _, event in events:
        assert event["session_id"] == watched_run["session_id"]
        parse_time(event["timestamp"])
    assert events[-1][0] == "pipeline_completion"
    assert events[-1][1]["status"] == "completed"


def test_every_event_kind_of_a_successful_run_is_sent(watched_run):
    kinds = {kind for kind, _ in watched_run["events"]}
    assert {"pipeline_progress", "pipeline_update", "pipeline_transition", "log_stream",
            "pipeline_completion"} <= kinds


def test_progress_never_decreases_and_reaches_100(watched_run):
    values = [event["progress"] for kind, event in watched_run["events"] if kind == "pipeline_progress"]
    assert values == sorted(values)
    assert values[-1] == 100.0
    for kind, event in watched_run["events"]:
        if kind == "pipeline_progress":
            assert 0 <= event["stage_progress"] <= 100


def test_update_twins_progress(watched_run):
    events = watched_run["events"]
    for index, (kind, event) in enumerate(events):
        if kind == "pipeline_progress":
            twin_kind, twin = events[index + 1]
            assert twin_kind == "pipeline_update"
            strip = lambda e: {k: v for k, v in e.items() if k not in ("seq", "timestamp")}
            assert strip(twin) == strip(event)


def test_every_sub_stage_of_stages_1_and_2_appears(watched_run):
    seen = {(event["stage"], event["sub_stage"]) for kind, event in watched_run["events"]
            if kind == "pipeline_progress"}
    for number in (1, 2):
        for name in get_stage(number).sub_stages:
            assert (number, name) in seen, f"sub-stage {name!r} of stage {number} never shown"


def test_sub_progress_reported_for_download_extraction_and_transcription(watched_run):
    units = {}
    for kind, event in watched_run["events"]:
        if kind == "pipeline_progress" and event["sub_progress"]:
            units.setdefault(event["sub_stage"], set()).add(event["sub_progress"]["unit"])
    assert units.get("Downloading media") == {"bytes"}
    assert units.get("Extracting audio") == {"s"}
    assert units.get("Transcribing") == {"s"}
    final = [e for k, e in watched_run["events"] if k == "pipeline_progress"
             and e["sub_stage"] == "Transcribing" and e["sub_progress"]][-1]["sub_progress"]
    assert final["current"] == final["total"] > 20


def test_progress_arrives_at_least_once_a_second_while_a_stage_runs(watched_run):
    events = watched_run["events"]
    starts = [i for i, (k, e) in enumerate(events) if k == "pipeline_transition"]
    ends = [i for i, (k, e) in enumerate(events)
            if k == "pipeline_progress" and e["stage_progress"] == 100.0 and e["status"] == "running"]
    assert len(starts) == 2 and len(ends) >= 2
    checked = 0
    for start, end in zip(starts, ends):
        stamps = [parse_time(events[start][1]["timestamp"])]
        stamps += [parse_time(e["timestamp"]) for k, e in events[start:end + 1] if k == "pipeline_progress"]
        gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:])]
        checked += len(gaps)
        assert max(gaps) <= 1.0, f"a stage went {max(gaps):.2f} s without a progress event"
    assert checked >= 4


def test_time_fields_are_present(watched_run):
    progress = [e for k, e in watched_run["events"] if k == "pipeline_progress"]
    elapsed = [e["time_elapsed"] for e in progress]
    assert elapsed == sorted(elapsed)
    assert any(e["estimated_remaining"] is not None and e["estimated_remaining"] > 0 for e in progress)
    assert progress[-1]["estimated_remaining"] == 0.0


def test_logs_of_the_run_are_streamed(watched_run):
    logs = [e for k, e in watched_run["events"] if k == "log_stream"]
    loggers = {e["logger"] for e in logs}
    assert {"pipeline", "yt_dlp", "ffmpeg"} <= loggers
    assert all(e["level"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") for e in logs)
    assert any("Transcript:" in e["message"] for e in logs)


def test_transcript_says_what_the_fixture_says(watched_run):
    folder = watched_run["folder"]
    transcript = json.loads((folder / "transcript.json").read_text())
    assert_heard(transcript["text"], SPEECH_WORDS)
    assert transcript["language"] == "en"
    assert_timed_in_order(transcript["segments"], transcript["duration"])
    srt = (folder / "transcript.srt").read_text()
    assert srt.startswith("1\n00:00:0") and " --> " in srt
    assert (folder / "transcript.vtt").read_text().startswith("WEBVTT")
    assert_heard((folder / "transcript.txt").read_text(), SPEECH_WORDS)


def test_stage_1_outputs(watched_run):
    from services.media.ffmpeg import probe

    folder = watched_run["folder"]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["title"] == "speech"
    assert 21 < metadata["duration"] < 25
    wav = probe(folder / "audio.wav")
    assert wav["streams"] == ["audio"] and 21 < wav["duration"] < 25
    import av

    with av.open(str(folder / "audio.wav")) as container:
        stream = container.streams.audio[0]
        assert stream.rate == 16000 and stream.channels == 1
    assert (folder / "source.mp4").stat().st_size == (FIXTURES / "speech.mp4").stat().st_size
    assert not list(folder.glob(".*.part"))
    completion = watched_run["events"][-1][1]
    names = {output["name"] for output in completion["outputs"]}
    assert {"audio.wav", "audio_hq.flac", "metadata.json", "transcript.json", "transcript.srt",
            "transcript.vtt", "transcript.txt"} <= names


def test_events_since_returns_exactly_the_later_events(live_server, watched_run):
    session_id = watched_run["session_id"]
    sent = [event for _, event in watched_run["events"]]
    for since in (0, 5, len(sent) // 2, len(sent) - 1, len(sent), len(sent) + 10):
        response = requests.get(f"{live_server.url}/api/pipeline/events/{session_id}",
                                params={"since": since}, timeout=10)
        assert response.status_code == 200
        got = [item["data"] for item in response.json()["events"]]
        assert got == [event for event in sent if event["seq"] > since]
        assert all(item["event"] in ("pipeline_progress", "pipeline_update", "pipeline_transition",
                                     "pipeline_error", "pipeline_completion", "log_stream")
                   for item in response.json()["events"])


def test_status_snapshot_of_a_finished_run(live_server, watched_run):
    session_id = watched_run["session_id"]
    snapshot = requests.get(f"{live_server.url}/api/pipeline/status/{session_id}", timeout=10).json()
    assert snapshot["state"] == "completed"
    assert snapshot["progress"] == 100.0
    assert snapshot["last_seq"] == watched_run["events"][-1][1]["seq"]
    assert [s["status"] for s in snapshot["stages"]] == ["completed", "completed"]
    assert all(s["duration"] > 0 for s in snapshot["stages"])
    assert snapshot["title"] == "speech"
    assert snapshot["time_elapsed"] > 0


def test_subscribe_late_replays_everything_after_last_seq(socketio_client, watched_run):
    sent = watched_run["events"]
    late = socketio_client()
    late.emit("subscribe", {"session_id": watched_run["session_id"], "last_seq": 10})
    late.wait_for(completed, timeout=10)
    kinds = [kind for kind, *_ in late.received]
    assert kinds[0] == "pipeline_snapshot"
    assert [event for _, event in late.run_events()] == [event for _, event in sent if event["seq"] > 10]


def test_reconnecting_client_ends_with_the_full_gapless_sequence(live_server, speech_url):
    first = RecordingClient(live_server.url).connect()
    session_id = start_run(live_server, speech_url, episode_directory=f"test-{uuid.uuid4().hex[:8]}")
    first.emit("subscribe", {"session_id": session_id, "last_seq": 0})
    first.wait_for(lambda got: any(k == "pipeline_transition" and d["to_stage"] == 2
                                   for k, d, _ in got), timeout=120)
    first.disconnect()
    kept = first.run_events()
    last_seq = kept[-1][1]["seq"]
    # events keep coming while the client is away
    wait_for(lambda: run_events(live_server, session_id)[-1]["data"]["seq"] > last_seq, timeout=60)

    second = RecordingClient(live_server.url).connect()
    try:
        second.emit("subscribe", {"session_id": session_id, "last_seq": last_seq})
        second.wait_for(completed, timeout=120)
        wait_for(lambda: second.run_events()[-1][1]["seq"]
                 >= run_events(live_server, session_id)[-1]["data"]["seq"], timeout=10)
        assert second.received[0][0] == "pipeline_snapshot"
        combined = kept + second.run_events()
    finally:
        second.disconnect()
    seqs = [event["seq"] for _, event in combined]
    assert seqs == list(range(1, len(seqs) + 1))
    assert combined[-1][0] == "pipeline_completion"
    stored = requests.get(f"{live_server.url}/api/pipeline/events/{session_id}", timeout=10).json()
    assert [item["data"] for item in stored["events"]] == [event for _, event in combined]


def test_second_run_of_the_episode_reuses_stage_outputs(live_server, speech_url, watched_run, client):
    session_id = start_run(live_server, speech_url, (1, 2), episode_directory=watched_run["episode"])
    snapshot = wait_state(client, session_id)
    assert snapshot["state"] == "completed"
    assert [s["status"] for s in snapshot["stages"]] == ["reused", "reused"]


def test_progress_carries_the_title_once_known(watched_run):
    progress = [e for k, e in watched_run["events"] if k == "pipeline_progress"]
    titles = [e["title"] for e in progress]
    assert titles[0] is None
    first_known = titles.index("speech")
    assert set(titles[first_known:]) == {"speech"}
    assert progress[first_known]["sub_stage"] in ("Fetching metadata", "Downloading media")
