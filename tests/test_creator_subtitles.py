"""The creator's subtitles through the pipeline: stages 1-2 through the live server where
yt-dlp really downloads a page's subtitle track, the download worker's conversion to WebVTT,
and when stage 2 uses the subtitles instead of transcribing."""
import json
import uuid

import pytest

from services.media.subtitles import parse_vtt
from tests.conftest import FIXTURES, SPEECH_WORDS, QuietReporter, assert_heard
from tests.media_support import MediaServer, cue

# --- stages 1-2 through the live server -----------------------------------------------------------

def run_stages(watch_run, url, episode, prefer):
    """Stages 1-2 of `url` in `episode`, followed to the end: the run, its stored events as
    `events` and its log lines as `logs`."""
    run = watch_run(url, [1, 2], episode=episode, timeout=240, socket=False,
                    options={"prefer_creator_subtitles": prefer})
    return dict(run, events=run["stored"],
                logs=[e["data"] for e in run["stored"] if e["event"] == "log_stream"])


def read_json(folder, name):
    """A JSON file of the episode folder."""
    return json.loads((folder / name).read_text(encoding="utf-8"))


def logged(run, words, level=None):
    """Whether a log line of the run holds `words` (at `level`, when given)."""
    return any(words in line["message"] and (level is None or line["level"] == level)
               for line in run["logs"])


@pytest.fixture(scope="module")
def page_runs(watch_run, media_server):
    """The same page three times in one episode folder: subtitles preferred, again (all
    reused), then not preferred (stage 1 redone without them, stage 2 by faster-whisper)."""
    url = f"{media_server}/speech_page.html"
    episode = f"creator-{uuid.uuid4().hex[:8]}"
    preferred = run_stages(watch_run, url, episode, True)
    preferred["transcript"] = read_json(preferred["folder"], "transcript.json")
    preferred["metadata"] = read_json(preferred["folder"], "metadata.json")
    preferred["checkpoints"] = read_json(preferred["folder"], "checkpoints.json")
    preferred["srt"] = (preferred["folder"] / "transcript.srt").read_text(encoding="utf-8")
    preferred["vtt"] = (preferred["folder"] / "creator_subtitles.vtt").read_text(encoding="utf-8")
    preferred["files"] = sorted(path.name for path in preferred["folder"].iterdir())
    again = run_stages(watch_run, url, episode, True)
    transcribed = run_stages(watch_run, url, episode, False)
    transcribed["transcript"] = read_json(transcribed["folder"], "transcript.json")
    transcribed["metadata"] = read_json(transcribed["folder"], "metadata.json")
    return {"preferred": preferred, "again": again, "transcribed": transcribed}


def test_yt_dlp_downloads_the_page_track_as_creator_subtitles(page_runs):
    run = page_runs["preferred"]
    assert run["snapshot"]["state"] == "completed", run["snapshot"]
    served = (FIXTURES / "speech.en.vtt").read_text(encoding="utf-8")
    assert run["vtt"] == served
    assert run["metadata"]["creator_subtitles"] == {"language": "en",
                                                    "file": "creator_subtitles.vtt"}
    assert [name for name in run["files"] if name.startswith("creator_")] == [
        "creator_subtitles.vtt"]                                      # no leftovers of the pass
    assert logged(run, "The uploader's subtitles (en) saved as creator_subtitles.vtt")


def test_the_transcript_is_built_from_the_subtitles(page_runs):
    run = page_runs["preferred"]
    transcript = run["transcript"]
    expected = parse_vtt((FIXTURES / "speech.en.vtt").read_text(encoding="utf-8"))
    assert transcript["source"] == transcript["model"] == "creator_subtitles"
    assert transcript["language"] == "en" and transcript["language_probability"] == 1.0
    assert transcript["words_estimated"] is True
    assert transcript["duration"] == pytest.approx(22.7, abs=0.3)   # the audio track's length
    assert [(s["start"], s["end"], s["text"]) for s in transcript["segments"]] == [
        (c["start"], c["end"], c["text"]) for c in expected]
    # The subtitles' own words, where faster-whisper's tiny model hears "thrown" and "traveled".
    assert ("coffee was first grown in Ethiopia, and it travelled across the world."
            in transcript["text"])
    for segment in transcript["segments"]:
        words = segment["words"]
        assert "".join(w["word"] for w in words).strip() == segment["text"]
        assert words[0]["start"] == segment["start"] and words[-1]["end"] == segment["end"]
        assert all(a["end"] <= b["start"] + 1e-9 for a, b in zip(words, words[1:]))
    assert ("00:00:11,800 --> 00:00:15,500\nSecond, the river boats carry apples to the market."
            in run["srt"])
    assert logged(run, "Using the creator's subtitles (en) instead of transcribing")
    assert not logged(run, "Language:")                      # the model never ran


def test_stage_2_reports_the_conversion_as_transcribing(page_runs):
    progress = [e["data"] for e in page_runs["preferred"]["events"]
                if e["event"] == "pipeline_progress" and e["data"]["stage"] == 2]
    sub_stages = [p["sub_stage"] for p in progress if p["sub_stage"]]
    assert "Transcribing" in sub_stages and sub_stages[-1] == "Writing subtitles"
    assert "Loading model" not in sub_stages
    converted = [p["sub_progress"] for p in progress
                 if p["sub_stage"] == "Transcribing" and p["sub_progress"]]
    assert converted and converted[-1]["unit"] == "s"
    assert converted[-1]["current"] == pytest.approx(22.7, abs=0.1)


def test_the_checkpoints_follow_the_setting_and_the_file(page_runs):
    params = page_runs["preferred"]["checkpoints"]
    assert params["media_extraction"]["parameters"]["creator_subtitles"] == {"language": None}
    stage_2 = params["transcription"]["parameters"]
    assert stage_2["prefer_creator_subtitles"] is True and len(stage_2["creator_subtitles"]) == 16
    again = page_runs["again"]["snapshot"]
    assert again["state"] == "completed"
    assert [s["status"] for s in again["stages"]] == ["reused", "reused"]


def test_without_the_setting_the_same_page_is_transcribed(page_runs):
    run = page_runs["transcribed"]
    assert run["snapshot"]["state"] == "completed", run["snapshot"]
    assert [s["status"] for s in run["snapshot"]["stages"]] == ["completed", "completed"]
    transcript = run["transcript"]
    assert transcript.get("source", "whisper") == "whisper" and "words_estimated" not in transcript
    assert transcript["model"] == "bundled"
    assert_heard(transcript["text"], SPEECH_WORDS)
    assert not (run["folder"] / "creator_subtitles.vtt").exists()
    assert run["metadata"]["creator_subtitles"] is None
    assert not logged(run, "creator's subtitles")


def test_a_subtitle_track_that_fails_to_download_is_only_a_warning(watch_run, tmp_path):
    (tmp_path / "page.html").write_text(
        '<video src="speech.mp4"><track kind="subtitles" srclang="en" src="gone.vtt"></video>',
        encoding="utf-8")
    server = MediaServer(tmp_path)
    try:
        run = run_stages(watch_run, f"{server.url}/page.html",
                         f"creator-missing-{uuid.uuid4().hex[:8]}", True)
    finally:
        server.close()
    assert run["snapshot"]["state"] == "completed", run["snapshot"]
    assert logged(run, "Unable to download video subtitles for 'en'", "WARNING")
    assert logged(run, "The uploader's subtitles (en) were not downloaded", "WARNING")
    assert logged(run, "The creator's subtitles were preferred, but this episode has none")
    assert read_json(run["folder"], "metadata.json")["creator_subtitles"] is None
    transcript = read_json(run["folder"], "transcript.json")
    assert transcript["source"] == "whisper"
    assert_heard(transcript["text"], SPEECH_WORDS)
    assert not list(run["folder"].glob("creator_subtitles*"))


def test_subtitles_in_another_format_are_converted_to_webvtt(tmp_path):
    from services.engine.cancel import CancelToken
    from services.media.ffmpeg import ffmpeg_path
    from services.workers import run_worker
    from services.workers.download import DOWNLOAD_SETTINGS_ENV

    site = tmp_path / "site"
    site.mkdir()
    (site / "talk.srt").write_text("1\n00:00:01,000 --> 00:00:02,500\nSubRip <i>text</i> here\n\n"
                                   "2\n00:00:03,000 --> 00:00:04,000\nand more\n", encoding="utf-8")
    (site / "page.html").write_text('<video src="speech.mp4"><track kind="subtitles" '
                                    'srclang="en-GB" src="talk.srt"></video>', encoding="utf-8")
    episode = tmp_path / "episode"
    episode.mkdir()
    settings = {"download": {"format": "bestaudio/best", "retries": 0, "fragment_retries": 0,
                             "socket_timeout": 10, "retry_sleep_initial": 0, "retry_sleep_max": 0},
                "data_dir": str(tmp_path), "creator_subtitles": {"language": "en"}}
    server = MediaServer(site)
    try:
        messages = list(run_worker(
            "download", ["--url", f"{server.url}/page.html", "--dir", episode,
                         "--ffmpeg", ffmpeg_path()], CancelToken(), "yt_dlp",
            env={DOWNLOAD_SETTINGS_ENV: json.dumps(settings)}))
    finally:
        server.close()
    kinds = [message["event"] for message in messages]
    assert kinds[0] == "info" and kinds[-1] == "downloaded" and "subtitles" in kinds
    assert kinds.index("subtitles") < kinds.index("downloaded")
    assert {"event": "subtitles", "language": "en-GB", "file": "creator_subtitles.vtt"} in messages
    vtt = (episode / "creator_subtitles.vtt").read_text(encoding="utf-8")
    assert vtt.startswith("WEBVTT")
    assert parse_vtt(vtt) == [cue(1.0, 2.5, "SubRip text here"), cue(3.0, 4.0, "and more")]
    assert sorted(path.name for path in episode.iterdir()) == ["creator_subtitles.vtt",
                                                               "source.mp4"]


def stage_context(folder, whisper, options=None):
    """Stage 2's context on `folder` with these whisper settings (and a run's options)."""
    from services.engine.cancel import CancelToken
    from services.engine.context import StageContext

    # a run's options reach a stage folded into its settings (services/run_request.py)
    return StageContext("s", "http://127.0.0.1/x", folder, {"whisper": {**whisper, **(options or {})}},
                        CancelToken(), QuietReporter())


VTT = "WEBVTT\n\n00:01.000 --> 00:02.000\nhello there\n\n00:30.000 --> 00:31.000\nlate\n"


@pytest.mark.parametrize("files, whisper, options, expected, said", [
    ({}, {"prefer_creator_subtitles": True}, {}, None, "this episode has none"),
    ({"creator_subtitles.vtt": VTT}, {"prefer_creator_subtitles": False}, {}, None, None),
    ({"creator_subtitles.vtt": VTT}, {"prefer_creator_subtitles": "yes"}, {}, None, None),
    ({"creator_subtitles.vtt": VTT, "metadata.json": {"creator_subtitles": {"language": "en-GB"}}},
     {"prefer_creator_subtitles": True, "language": "de"}, {}, None, "not 'de'"),
    ({"creator_subtitles.vtt": VTT, "metadata.json": {"creator_subtitles": {"language": "en"}}},
     {"prefer_creator_subtitles": True}, {"language": "fr"}, None, "not 'fr'"),
    ({"creator_subtitles.vtt": "WEBVTT\n\n00:20.000 --> 00:21.000\ntoo late\n"},
     {"prefer_creator_subtitles": True}, {}, None, "no cues within the audio"),
    ({"creator_subtitles.vtt": "not subtitles"}, {"prefer_creator_subtitles": True}, {}, None,
     "no cues within the audio"),
    ({"creator_subtitles.vtt": VTT, "metadata.json": {"creator_subtitles": {"language": "en-GB"}}},
     {"prefer_creator_subtitles": True, "language": "en"}, {},
     ("en-GB", [cue(1.0, 2.0, "hello there")]), None),
    ({"creator_subtitles.vtt": VTT, "metadata.json": "[not json"},
     {"prefer_creator_subtitles": True}, {}, ("und", [cue(1.0, 2.0, "hello there")]), None),
])
def test_stage_2_uses_the_subtitles_only_when_they_fit(tmp_path, caplog, files, whisper, options,
                                                       expected, said):
    from services.stages import transcription

    for name, content in files.items():
        text = content if isinstance(content, str) else json.dumps(content)
        (tmp_path / name).write_text(text, encoding="utf-8")
    ctx = stage_context(tmp_path, whisper, options)
    with caplog.at_level("INFO", logger="pipeline"):
        assert transcription._creator_cues(ctx, 20.0) == expected
    if said:
        assert said in caplog.text
    wanted = whisper["prefer_creator_subtitles"] is True
    assert ("creator_subtitles" in transcription.parameters(ctx)) is wanted


def test_parameters_follow_the_setting_and_the_subtitle_file(tmp_path):
    from services.stages import media_extraction, transcription

    off = stage_context(tmp_path, {"prefer_creator_subtitles": False, "language": "en"})
    assert media_extraction.parameters(off) == {"url": "http://127.0.0.1/x"}   # as before
    assert "prefer_creator_subtitles" not in transcription.parameters(off)
    on = stage_context(tmp_path, {"prefer_creator_subtitles": True, "language": "en"})
    assert media_extraction.parameters(on) == {"url": "http://127.0.0.1/x",
                                               "creator_subtitles": {"language": "en"}}
    without_file = transcription.parameters(on)["creator_subtitles"]
    (tmp_path / "creator_subtitles.vtt").write_text(VTT, encoding="utf-8")
    with_file = transcription.parameters(on)["creator_subtitles"]
    (tmp_path / "creator_subtitles.vtt").write_text(VTT.replace("hello", "hullo"), encoding="utf-8")
    assert len({without_file, with_file, transcription.parameters(on)["creator_subtitles"]}) == 3
