"""The creator's subtitles: parse_vtt on odd and hostile WebVTT, the language choice, and
stages 1-2 through the live server where yt-dlp really downloads a page's subtitle track."""
import json
import random
import time
import uuid
from pathlib import Path

import pytest
import requests

from services.media.subtitles import estimated_words, parse_vtt
from services.download.options import creator_subtitle_language
from tests.conftest import FIXTURES, SPEECH_WORDS
from tests.server_support import wait_state
from tests.media_support import MediaServer

# --- parse_vtt ---------------------------------------------------------------------------------


def cue(start, end, text):
    return {"start": start, "end": end, "text": text}


def test_a_full_file_with_header_blocks_settings_tags_and_entities():
    text = (
        "WEBVTT - a title\nKind: captions\nLanguage: en\n\n"
        "NOTE a comment\nthat runs over two lines\n\n"
        "STYLE\n::cue(.loud) { color: red }\n\n"
        "REGION\nid:fred width:40%\n\n"
        "intro-1\n00:00:01.000 --> 00:00:03.500 align:start position:10% line:0 region:fred\n"
        "<v Roger Bingham>We are in <b>New</b> York &amp; <i>Boston</i></v>\n\n"
        "2\n00:00:03.500 --> 00:00:05.000\n"
        "<c.yellow.bg_blue>Fish</c> &lt;b&gt; chips&nbsp;and&lrm; peas\n"
        "<00:00:04.000><c> second</c><00:00:04.500><c> line</c>\n"
    )
    assert parse_vtt(text) == [
        cue(1.0, 3.5, "We are in New York & Boston"),
        cue(3.5, 5.0, "Fish <b> chips and peas second line"),
    ]


@pytest.mark.parametrize("timing, start, end", [
    ("00:01.000 --> 00:02.500", 1.0, 2.5),               # no hours
    ("01:02:03.004 --> 01:02:04.000", 3723.004, 3724.0),
    ("00:00:01,250 --> 00:00:02,000", 1.25, 2.0),        # SRT-style commas
    ("00:01.5 --> 00:02.25", 1.5, 2.25),                 # short fractions
    ("0:00:07.000-->0:00:08.000", 7.0, 8.0),             # no spaces, one-digit hours
    ("100:00:00.000 --> 100:00:01.000", 360000.0, 360001.0),
])
def test_timestamps_with_and_without_hours(timing, start, end):
    [only] = parse_vtt(f"WEBVTT\n\n{timing}\nhello\n")
    assert only["start"] == pytest.approx(start) and only["end"] == pytest.approx(end)
    assert only["text"] == "hello"


def test_bom_crlf_and_cr_line_ends():
    body = "WEBVTT\n\n00:01.000 --> 00:02.000\none\n\n00:02.000 --> 00:03.000\ntwo\n"
    expected = [cue(1.0, 2.0, "one"), cue(2.0, 3.0, "two")]
    assert parse_vtt("\ufeff" + body.replace("\n", "\r\n")) == expected
    assert parse_vtt(body.replace("\n", "\r")) == expected
    assert parse_vtt(body.replace("WEBVTT\n\n", "")) == expected    # no header at all


def test_empty_and_tag_only_cues_are_dropped_and_lines_joined():
    text = ("WEBVTT\n\n00:01.000 --> 00:02.000\n\n"
            "00:02.000 --> 00:03.000\n<c></c> <i> </i>\n\n"
            "00:04.000 --> 00:05.000\n  first line  \n\tsecond\tline\n")
    assert parse_vtt(text) == [cue(4.0, 5.0, "first line second line")]


def test_garbage_lines_and_broken_cues_are_skipped_and_the_rest_kept():
    text = ("WEBVTT\n\nthis is not a cue\nnor this\n\n"
            "00:99.000 --> 00:01.000\nminutes out of range\n\n"
            "00:05.000 --> 00:04.000\nends before it starts\n\n"
            "00:01.000 -> 00:02.000\nwrong arrow\n\n"
            "00:06.000 --> 00:07.000\nkept\n\n"
            "00:08.000 --> 00:09.000\nalso kept\n00:10.000 --> 00:11.000\nno blank line before\n")
    assert parse_vtt(text) == [cue(6.0, 7.0, "kept"), cue(8.0, 9.0, "also kept"),
                               cue(10.0, 11.0, "no blank line before")]


def test_rolling_captions_keep_each_line_once():
    # The shape of YouTube's rolling captions: each cue repeats the line shown before it, and a
    # 10 ms cue holds the finished line alone.
    text = ("WEBVTT\nKind: captions\nLanguage: en\n\n"
            "00:00:00.000 --> 00:00:02.500 align:start position:0%\n"
            "so<00:00:00.500><c> today</c><00:00:01.000><c> we</c>\n\n"
            "00:00:02.500 --> 00:00:02.510 align:start position:0%\nso today we\n\n"
            "00:00:02.510 --> 00:00:05.000 align:start position:0%\n"
            "so today we\ntalk<00:00:03.000><c> about</c><00:00:04.000><c> coffee</c>\n\n"
            "00:00:05.000 --> 00:00:05.010 align:start position:0%\ntalk about coffee\n\n"
            "00:00:05.010 --> 00:00:07.000 align:start position:0%\n"
            "talk about coffee\nand tea\n")
    assert parse_vtt(text) == [cue(0.0, 2.51, "so today we"), cue(2.51, 5.01, "talk about coffee"),
                               cue(5.01, 7.0, "and tea")]


def test_the_same_words_said_again_later_are_kept():
    text = "00:01.000 --> 00:02.000\nYes.\n\n00:05.000 --> 00:06.000\nYes.\n"
    assert parse_vtt(text) == [cue(1.0, 2.0, "Yes."), cue(5.0, 6.0, "Yes.")]


def test_ruby_text_and_invisible_marks_are_removed():
    text = "00:01.000 --> 00:02.000\n<ruby>漢<rt>kan</rt>字<rp>(</rp></ruby>\u200b&rlm;ok\n"
    assert parse_vtt(text) == [cue(1.0, 2.0, "漢字ok")]


def test_cues_come_back_in_time_order():
    text = "00:05.000 --> 00:06.000\nlater\n\n00:01.000 --> 00:02.000\nsooner\n"
    assert [item["text"] for item in parse_vtt(text)] == ["sooner", "later"]


HOSTILE = [
    None, b"WEBVTT", 42, "", "\ufeff", "WEBVTT", "-->", " --> ", "\n\n\n", "\x00\x01\x02",
    "WEBVTT\n\n00:00.000 --> \nno end\n", "00:00:00.000 --> 00:00:01.000\n" + "<" * 200_000,
    "00:00:00.000 --> 00:00:01.000\n" + "<rt>" * 50_000 + "</rp>",
    "00:00:00.000 --> 00:00:01.000\n" + "&" * 10_000 + "&#x110000;&#0;&#xd800;",
    " " * 100_000 + "--> 00:01.000", "NOTE --> 00:01.000\n",
    "99999:59:59.999 --> 99999:59:59.999\nfar away\n",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_never_raises_and_gives_sound_cues(text):
    started = time.monotonic()
    cues = parse_vtt(text)
    assert time.monotonic() - started < 2.0
    assert isinstance(cues, list)
    for item in cues:
        assert 0 <= item["start"] <= item["end"] and item["text"].strip() == item["text"] != ""


def test_random_vtt_fragments_never_raise():
    pieces = ["WEBVTT", "NOTE", "STYLE", "\n", "\n\n", "\r\n", "00:01.000", "01:02:03.456", " --> ",
              "-->", "<c>", "</c>", "<v A>", "&amp;", "&", "<", ">", "text", "99:99.999", "\ufeff",
              "align:start", "<00:00:01.000>", "<rt>", "</rt>"]
    chooser = random.Random(20240601)
    for _ in range(2000):
        text = "".join(chooser.choice(pieces) for _ in range(chooser.randint(0, 40)))
        for item in parse_vtt(text):
            assert 0 <= item["start"] <= item["end"] and item["text"]


def test_estimated_words_share_the_cue_by_length():
    words = estimated_words(10.0, 12.0, "I see elephants")
    assert [w["word"] for w in words] == [" I", " see", " elephants"]
    assert words[0]["start"] == 10.0 and words[-1]["end"] == 12.0
    assert [w["end"] for w in words[:-1]] == [w["start"] for w in words[1:]]
    durations = [w["end"] - w["start"] for w in words]
    assert durations[2] == pytest.approx(durations[0] * 9, abs=0.01)   # 9 letters against 1
    assert estimated_words(1.0, 1.0, "a b") == [{"start": 1.0, "end": 1.0, "word": " a"},
                                                 {"start": 1.0, "end": 1.0, "word": " b"}]


# --- which language yt-dlp is asked for ---------------------------------------------------------

@pytest.mark.parametrize("available, wanted, chosen", [
    ({"de": [{}], "en-GB": [{}], "en": [{}]}, None, "en"),
    ({"de": [{}], "en-GB": [{}]}, None, "en-GB"),
    ({"live_chat": [{}], "de": [{}]}, None, "de"),
    ({"live_chat": [{}]}, None, None),
    ({"de": [{}], "en": [{}]}, "de", "de"),
    ({"de-DE": [{}], "en": [{}]}, "de", "de-DE"),
    ({"en": [{}]}, "fr", None),                          # never another language than asked for
    ({"en": []}, None, None),                            # listed without any format
    ({"../../evil": [{}], "x\n": [{}]}, None, None),     # not language codes: never a file name
    (None, None, None), ("en", None, None),
])
def test_the_subtitle_language_choice(available, wanted, chosen):
    assert creator_subtitle_language(available, wanted) == chosen


# --- stages 1-2 through the live server -----------------------------------------------------------

def run_stages(live_server, client, url, episode, prefer):
    body = {"youtube_url": url, "selected_stages": [1, 2], "episode_directory": episode,
            "options": {"prefer_creator_subtitles": prefer}}
    answer = requests.post(f"{live_server.url}/pipeline/execute", json=body, timeout=10)
    assert answer.status_code == 202, answer.text
    session_id = answer.json()["session_id"]
    snapshot = wait_state(client, session_id, timeout=240)
    stored = requests.get(f"{live_server.url}/api/pipeline/events/{session_id}?since=0",
                          timeout=10).json()["events"]
    folder = Path(live_server.app.config["PIPELINE"]["data_dir"]) / "episodes" / episode
    return {"snapshot": snapshot, "events": stored, "folder": folder,
            "logs": [e["data"] for e in stored if e["event"] == "log_stream"]}


def read_json(folder, name):
    return json.loads((folder / name).read_text(encoding="utf-8"))


def logged(run, words, level=None):
    return any(words in line["message"] and (level is None or line["level"] == level)
               for line in run["logs"])


@pytest.fixture(scope="module")
def page_runs(live_server, media_server):
    """The same page three times in one episode folder: subtitles preferred, again (all
    reused), then not preferred (stage 1 redone without them, stage 2 by faster-whisper)."""
    url = f"{media_server}/speech_page.html"
    episode = f"creator-{uuid.uuid4().hex[:8]}"
    client = live_server.app.test_client()
    preferred = run_stages(live_server, client, url, episode, True)
    preferred["transcript"] = read_json(preferred["folder"], "transcript.json")
    preferred["metadata"] = read_json(preferred["folder"], "metadata.json")
    preferred["checkpoints"] = read_json(preferred["folder"], "checkpoints.json")
    preferred["srt"] = (preferred["folder"] / "transcript.srt").read_text(encoding="utf-8")
    preferred["vtt"] = (preferred["folder"] / "creator_subtitles.vtt").read_text(encoding="utf-8")
    preferred["files"] = sorted(path.name for path in preferred["folder"].iterdir())
    again = run_stages(live_server, client, url, episode, True)
    transcribed = run_stages(live_server, client, url, episode, False)
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
    text = transcript["text"].lower()
    for word in SPEECH_WORDS:
        assert word.lower() in text
    assert not (run["folder"] / "creator_subtitles.vtt").exists()
    assert run["metadata"]["creator_subtitles"] is None
    assert not logged(run, "creator's subtitles")


def test_a_subtitle_track_that_fails_to_download_is_only_a_warning(live_server, app, tmp_path):
    (tmp_path / "page.html").write_text(
        '<video src="speech.mp4"><track kind="subtitles" srclang="en" src="gone.vtt"></video>',
        encoding="utf-8")
    server = MediaServer(tmp_path)
    try:
        run = run_stages(live_server, app.test_client(), f"{server.url}/page.html",
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
    assert all(word.lower() in transcript["text"].lower() for word in SPEECH_WORDS)
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


class QuietReporter:
    """Takes a stage's reports and keeps nothing (the stage's own decisions are under test)."""

    def sub_stage(self, name):
        pass

    def sub_progress(self, *args):
        pass

    def media_info(self, **fields):
        pass


def stage_context(folder, whisper, options=None):
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
