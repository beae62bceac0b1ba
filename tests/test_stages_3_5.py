"""Stages 1–5 on the spoken three-topic fixture, through the live server and a socket client."""
import json
import re
import uuid

import pytest

from services.stages import get_stage
from services.text.youtube_chapters import check_chapter_lines
from tests.conftest import FIXTURES, cancel_during
from tests.server_support import start_run, wait_state

TRUTH = json.loads((FIXTURES / "topics.json").read_text())


@pytest.fixture(scope="module")
def full_run(watch_run, media_server):
    """One 1–5 run of topics.m4a, watched from its start."""
    run = watch_run(f"{media_server}/topics.m4a", [1, 2, 3, 4, 5],
                    episode=f"topics-{uuid.uuid4().hex[:8]}")
    folder = run["folder"]
    return dict(run, read=lambda name: json.loads((folder / name).read_text(encoding="utf-8")))


def test_the_run_completes_and_shows_every_sub_stage(full_run):
    completion = [e for k, e in full_run["events"] if k == "pipeline_completion"]
    assert completion and completion[-1]["status"] == "completed", completion
    seen = {}
    for kind, event in full_run["events"]:
        if kind == "pipeline_progress" and event["sub_stage"]:
            seen.setdefault(event["stage"], []).append(event["sub_stage"])
    for number in range(1, 6):
        expected = list(get_stage(number).sub_stages)
        shown = list(dict.fromkeys(seen.get(number, [])))
        assert shown == expected, (number, shown)
    progress = [e["progress"] for k, e in full_run["events"] if k == "pipeline_progress"]
    assert progress == sorted(progress)
    names = {e["name"] for e in completion[-1]["outputs"]}
    assert {"analysis.json", "segments.json", "summary.md", "chapters.txt"} <= names


def test_chapters_start_where_the_topics_change(full_run):
    analysis = full_run["read"]("analysis.json")
    starts = [c["start"] for c in analysis["chapters"]]
    assert starts[0] == 0.0 and starts == sorted(starts)
    # A chapter starts at a sentence; how long sentences are hangs on the punctuation the model
    # writes (it differs between CPUs). Each topic change has a chapter start within 5 s of the
    # sentence start nearest to it, and there may be one chapter more than topics.
    assert len(TRUTH["topic_changes"]) + 1 <= len(starts) <= len(TRUTH["topic_changes"]) + 2, starts
    sentence_starts = [s["start"] for s in analysis["sentences"]]
    for truth in TRUTH["topic_changes"]:
        reachable = min(abs(start - truth) for start in sentence_starts)
        assert min(abs(found - truth) for found in starts[1:]) <= reachable + 5.0, (
            starts, TRUTH["topic_changes"])
    assert re.search("coffee", " ".join(analysis["chapters"][0]["keywords"]))
    for topic in ("coffee", "mars|spacecraft|orbit", "bread|sourdough"):
        assert any(re.search(topic, k) for c in analysis["chapters"] for k in c["keywords"]), topic
    speech = analysis["speech"]
    assert 0.6 < speech["speech_ratio"] < 1.0 and speech["segments"]
    assert all(60 < c["speaking_rate_wpm"] < 260 for c in analysis["chapters"])


def test_chapters_txt_obeys_youtubes_rules(full_run):
    lines = (full_run["folder"] / "chapters.txt").read_text(encoding="utf-8").splitlines()
    assert check_chapter_lines(lines, TRUTH["duration"]) == []
    titles = [line.split(" ", 1)[1] for line in lines]
    assert len(set(titles)) == len(titles)
    assert "Coffee" in titles[0]


def test_segments_are_whole_sentences_inside_the_media_apart(full_run):
    analysis, chosen = full_run["read"]("analysis.json"), full_run["read"]("segments.json")
    sentences = analysis["sentences"]
    segments = chosen["segments"]
    assert 1 <= len(segments) <= 3   # how many fit depends on the model's sentences
    for segment in segments:
        assert 0 <= segment["start"] < segment["end"] <= analysis["duration"]
        first, last = sentences[segment["first_sentence"]], sentences[segment["last_sentence"]]
        assert first["start"] - 0.31 <= segment["start"] <= first["start"]
        assert last["end"] <= segment["end"] <= last["end"] + 0.31
        if segment["first_sentence"] > 0:
            assert segment["start"] >= sentences[segment["first_sentence"] - 1]["end"]
        assert 15 - 0.01 <= last["end"] - first["start"] <= 60 + 0.01
        assert segment["reason"] and set(segment["scores"]) >= {"centrality", "keywords", "speech"}
    for before, after in zip(segments, segments[1:]):
        assert before["end"] <= after["start"]


def test_every_summary_sentence_is_in_the_transcript(full_run):
    transcript = full_run["read"]("transcript.json")
    words = " ".join(s["text"] for s in transcript["segments"])
    flat = re.sub(r"\s+", " ", words)
    summary = full_run["read"]("summary.json")
    assert summary["source"] == "extractive"
    sentences = full_run["read"]("analysis.json")["sentences"]
    assert 1 <= len(summary["summary_sentences"]) <= min(7, len(sentences))
    for index in summary["summary_sentences"]:
        text = sentences[index]["text"]
        assert text in summary["summary"]
        assert re.sub(r"\s+", " ", text) in flat or all(w in flat for w in text.split())
    markdown = (full_run["folder"] / "summary.md").read_text(encoding="utf-8")
    assert "## Summary" in markdown and "## Chapters" in markdown
    assert all(c["summary"] for c in summary["chapters"])


def test_a_3_to_5_rerun_reuses_stages_1_and_2(full_run, live_server, media_server, client):
    session_id = start_run(live_server, f"{media_server}/topics.m4a", [1, 2, 3, 4, 5],
                           episode_directory=full_run["episode"])
    snapshot = wait_state(client, session_id, timeout=180)
    states = {stage["stage"]: stage["status"] for stage in snapshot["stages"]}
    assert states == {1: "reused", 2: "reused", 3: "reused", 4: "reused", 5: "reused"}
    checkpoints = json.loads((full_run["folder"] / "checkpoints.json").read_text())
    assert set(checkpoints) >= {"content_analysis", "segment_selection", "summary_generation"}
    session_id = start_run(live_server, f"{media_server}/topics.m4a?again", [3, 4, 5],
                           episode_directory=full_run["episode"])
    snapshot = wait_state(client, session_id, timeout=180)
    assert snapshot["state"] == "completed"


def test_a_new_transcript_makes_stage_3_run_again(full_run, live_server, client):
    """Stage 3's checkpoint follows its input: a changed transcript is analysed again."""
    folder = full_run["folder"]
    transcript = json.loads((folder / "transcript.json").read_text())
    transcript["segments"] = transcript["segments"][: len(transcript["segments"]) // 2]
    edited = f"{full_run['episode']}-edited"
    target = folder.parent / edited
    target.mkdir()
    for name in ("metadata.json", "audio.wav"):
        (target / name).write_bytes((folder / name).read_bytes())
    (target / "transcript.json").write_text(json.dumps(transcript))
    (target / "checkpoints.json").write_text((folder / "checkpoints.json").read_text())
    (target / "analysis.json").write_bytes((folder / "analysis.json").read_bytes())
    session_id = start_run(live_server, "http://127.0.0.1:9/unused.mp4", [3], episode_directory=edited)
    snapshot = wait_state(client, session_id, timeout=120)
    assert snapshot["stages"][0]["status"] == "completed"
    analysis = json.loads((target / "analysis.json").read_text())
    assert analysis["duration"] <= full_run["read"]("analysis.json")["duration"]
    assert len(analysis["sentences"]) < len(full_run["read"]("analysis.json")["sentences"])


def test_cancel_during_speech_detection_is_quick_and_clean(full_run, live_server):
    """Stage 3 on a 20-minute episode, cancelled while the VAD runs: within a second, no
    analysis.json, earlier files kept."""
    import subprocess

    from tests.media_support import ffmpeg

    folder = full_run["folder"]
    transcript = json.loads((folder / "transcript.json").read_text())
    episode = f"{full_run['episode']}-long"
    target = folder.parent / episode
    target.mkdir()
    length, copies, segments = transcript["duration"], 10, []
    for copy in range(copies):
        for segment in transcript["segments"]:
            segments.append(dict(segment, start=segment["start"] + copy * length,
                                 end=segment["end"] + copy * length, words=None))
    (target / "transcript.json").write_text(json.dumps(dict(transcript, segments=segments,
                                                            duration=length * copies)))
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-stream_loop",
                    str(copies - 1), "-i", str(FIXTURES / "topics.m4a"), "-ac", "1", "-ar", "16000",
                    "-c:a", "pcm_s16le", str(target / "audio.wav")], check=True)
    session_id = start_run(live_server, "http://127.0.0.1:9/long.mp4", [3], episode_directory=episode)
    took, completion = cancel_during(live_server.url, session_id, "Measuring speech and silence")
    assert completion["status"] == "cancelled"
    assert took <= 1.0, f"cancel took {took:.2f} s"
    names = sorted(p.name for p in target.iterdir())
    assert "analysis.json" not in names and not [n for n in names if n.endswith(".part")]
    assert {"audio.wav", "transcript.json"} <= set(names)
