"""The creator's subtitles as text: parse_vtt on odd and hostile WebVTT, the words estimated
within a cue, and which language yt-dlp is asked for."""
import random
import time

import pytest

from services.download.options import creator_subtitle_language
from services.media.subtitles import estimated_words, parse_vtt
from tests.media_support import cue

# --- parse_vtt ---------------------------------------------------------------------------------


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
