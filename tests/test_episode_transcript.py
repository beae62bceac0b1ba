"""The transcript in episode time (services/media/timeline.py) and cue text that survives the
writers (services/media/subtitles.py): WebVTT and SRT with hostile text, Podcasting 2.0 JSON."""
import json

import pytest

from services.media.subtitles import cue_line, parse_vtt, to_podcast_json, to_srt, to_vtt
from services.media.timeline import MIN_CUE_SECONDS, episode_cues, place, retime

HOSTILE = [
    "Tom & Jerry <b>bold</b> a --> b",
    "emoji 😀🎙️ and 👍🏽 thumbs",
    "RTL שלום עולם and مرحبا بالعالم",
    "NUL\x00here and bell\x07 too",
    "first line\n\n\nsecond line\r\n\r\nthird\tpart",
    "&amp; already &lt;escaped&gt; ---> x",
    "00:00:01.000 --> 00:00:02.000",
    "WEBVTT",
    "NOTE this is no note",
]


def words(*items):
    """Transcript words from (start, end, text) with faster-whisper's leading spaces."""
    return [{"start": start, "end": end, "word": f" {text}"} for start, end, text in items]


def segment(items, text=None):
    made = words(*items)
    return {"start": made[0]["start"], "end": made[-1]["end"],
            "text": text or "".join(w["word"] for w in made), "words": made}


def assert_in_order(cues):
    for cue in cues:
        assert cue["end"] > cue["start"] >= 0 and cue["text"]
    for before, after in zip(cues, cues[1:]):
        assert before["end"] <= after["start"]


# --- retime and place --------------------------------------------------------------------------


def test_retime_maps_kept_ranges_and_sends_a_cut_pause_to_the_next_range():
    timeline = [[2.0, 10.0, 0.0], [14.0, 20.0, 8.0]]
    expected = {0.0: 0.0, 2.0: 0.0, 5.5: 3.5, 10.0: 8.0, 12.0: 8.0, 14.0: 8.0, 17.25: 11.25,
                20.0: 14.0, 30.0: 14.0}
    assert {moment: retime(moment, timeline) for moment in expected} == expected
    assert retime(7.0, []) == 7.0


def test_place_maps_only_times_inside_a_kept_range():
    timeline = [[30.0, 40.0, 0.0], [5.0, 12.0, 9.6]]
    assert place(30.0, timeline) == 0.0
    assert place(35.5, timeline) == 5.5
    assert place(40.0, timeline) == 10.0
    assert place(5.0, timeline) == 9.6
    assert place(11.0, timeline) == pytest.approx(15.6)
    for outside in (0.0, 4.99, 12.01, 20.0, 29.9, 41.0):
        assert place(outside, timeline) is None
    assert place(3.0, []) is None
    overlapping = [[10.0, 20.0, 0.0], [15.0, 25.0, 9.6]]
    assert place(17.0, overlapping) == 7.0       # the first range holding it wins


# --- episode_cues ------------------------------------------------------------------------------

FULL = [[0.0, 10.0, 0.0], [14.0, 20.0, 10.0]]    # 10 s to 14 s of pause cut out


def test_full_mode_cuts_cues_at_a_shortened_pause():
    spoken = segment([(8.0, 8.5, "before"), (8.6, 9.5, "the"), (9.6, 9.9, "pause"),
                      (14.5, 15.0, "after"), (15.1, 15.6, "it.")])
    cues = episode_cues([spoken], FULL, "full", program_offset=3.0)
    assert [cue["text"] for cue in cues] == ["before the pause", "after it."]
    assert cues[0]["start"] == 11.0 and cues[0]["end"] == pytest.approx(12.9)
    assert cues[1]["start"] == retime(14.5, FULL) + 3.0 == 13.5
    assert cues[1]["end"] == pytest.approx(retime(15.6, FULL) + 3.0)
    assert cues[0]["end"] <= retime(10.0, FULL) + 3.0     # no cue crosses the cut
    assert_in_order(cues)


def test_full_mode_keeps_every_word_and_a_word_in_a_cut_pause_opens_the_next_range():
    spoken = segment([(9.0, 9.5, "one"), (11.0, 11.5, "murmur"), (14.2, 14.8, "two")])
    late = segment([(25.0, 25.5, "tail")])
    cues = episode_cues([spoken, late], FULL, "full")
    assert [cue["text"] for cue in cues] == ["one", "murmur two", "tail"]
    assert cues[1]["start"] == 10.0
    assert cues[2]["start"] == 16.0                   # after the last range: its end
    assert cues[2]["end"] == pytest.approx(16.0 + MIN_CUE_SECONDS)


def test_highlights_follow_the_timeline_and_drop_words_outside_it():
    crossfade = 0.4
    ranges = [(30.0, 40.0), (5.0, 12.0)]     # the second highlight is earlier in the source
    timeline, out = [], 0.0
    for index, (start, end) in enumerate(ranges):
        timeline.append([start, end, round(out, 3)])
        out += (end - start) - (crossfade if index < len(ranges) - 1 else 0)
    assert timeline == [[30.0, 40.0, 0.0], [5.0, 12.0, 9.6]]
    early = segment([(3.0, 3.5, "dropped"), (5.2, 5.6, "second"), (6.0, 6.4, "highlight."),
                     (12.5, 13.0, "gone")])
    late = segment([(29.0, 29.5, "lost"), (30.5, 31.0, "first"), (31.1, 31.5, "highlight"),
                    (39.5, 39.9, "closing"), (40.5, 41.0, "missing")])
    cues = episode_cues([early, late], timeline, "highlights", program_offset=2.0,
                        max_cue_seconds=20)
    assert [cue["text"] for cue in cues] == ["first highlight closing", "second highlight."]
    assert cues[0]["start"] == 2.5
    assert cues[1]["start"] == pytest.approx(9.6 + 0.2 + 2.0)
    assert cues[0]["end"] == cues[1]["start"]          # the crossfade overlap trimmed
    assert " ".join(c["text"] for c in cues).count("dropped") == 0
    assert_in_order(cues)


def test_a_cue_inside_a_crossfade_before_the_last_one_is_joined_to_it():
    timeline = [[0.0, 10.0, 0.0], [20.0, 30.0, 9.6]]
    spoken = [segment([(2.0, 2.5, "earlier"), (9.8, 9.95, "fading")]),
              segment([(20.0, 20.5, "rising"), (22.0, 22.5, "later")])]
    cues = episode_cues(spoken, timeline, "highlights", max_cue_seconds=1.0)
    assert cues == [{"start": 2.0, "end": 2.5, "text": "earlier"},
                    {"start": 9.8, "end": 10.1, "text": "fading rising"},
                    {"start": 11.6, "end": 12.1, "text": "later"}]


def test_highlights_keep_a_word_mostly_inside_and_clamp_its_times():
    timeline = [[10.0, 20.0, 0.0]]
    spoken = segment([(9.9, 10.5, "cut"), (10.6, 11.0, "in"), (19.8, 20.6, "out")])
    cues = episode_cues([spoken], timeline, "highlights", max_cue_seconds=20)
    assert cues == [{"start": 0.0, "end": 10.0, "text": "cut in out"}]
    barely = segment([(9.0, 10.2, "barely")])
    assert episode_cues([barely], timeline, "highlights") == []


def test_a_segment_whose_words_are_all_cut_is_not_shown_by_its_text():
    timeline = [[10.0, 20.0, 0.0]]
    spoken = {"start": 12.0, "end": 30.0, "text": "should not show",
              "words": words((25.0, 25.5, "outside"))}
    assert episode_cues([spoken], timeline, "highlights") == []


def test_intro_offset_and_the_episode_length_clamp_the_cues():
    spoken = [segment([(1.0, 2.0, "early")]), segment([(17.0, 19.5, "late")]),
              segment([(19.8, 19.9, "beyond")])]
    cues = episode_cues(spoken, FULL, "full", program_offset=5.0, episode_length=20.5)
    assert cues == [{"start": 6.0, "end": 7.0, "text": "early"},
                    {"start": 18.0, "end": 20.5, "text": "late"}]      # "beyond" at 20.8
    clamped = episode_cues(spoken[1:2], FULL, "full", program_offset=5.0, episode_length=19.0)
    assert clamped == [{"start": 18.0, "end": 19.0, "text": "late"}]


def test_long_runs_are_split_within_the_limits_preferably_after_a_clause():
    tokens = [f"w{n}." if n == 9 else f"w{n}" for n in range(40)]
    spoken = segment([(n * 0.5, n * 0.5 + 0.4, token) for n, token in enumerate(tokens)])
    cues = episode_cues([spoken], [[0.0, 100.0, 0.0]], "full", max_cue_seconds=7.0)
    assert " ".join(cue["text"] for cue in cues) == " ".join(tokens)
    assert cues[0]["text"].endswith("w9.")            # cut after the clause, not at 14 words
    assert all(cue["end"] - cue["start"] <= 7.0 for cue in cues)
    assert_in_order(cues)
    narrow = episode_cues([spoken], [[0.0, 100.0, 0.0]], "full", max_cue_chars=20)
    assert all(len(cue["text"]) <= 20 for cue in narrow)
    assert " ".join(cue["text"] for cue in narrow) == " ".join(tokens)
    whole = segment([(0.0, 9.0, "x" * 200)])
    assert [c["text"] for c in episode_cues([whole], [[0.0, 100.0, 0.0]], "full")] == ["x" * 200]


def test_segments_without_words_are_one_cue_each():
    bare = [{"start": 8.0, "end": 16.0, "text": "  spans \n the cut  "},
            {"start": 16.5, "end": 17.0, "text": "", "words": []},
            {"start": 18.0, "end": 19.0, "text": "no words key either", "words": None}]
    cues = episode_cues(bare, FULL, "full")
    assert cues == [{"start": 8.0, "end": 12.0, "text": "spans the cut"},
                    {"start": 14.0, "end": 15.0, "text": "no words key either"}]
    timeline = [[10.0, 20.0, 0.0]]
    lines = [{"start": 5.0, "end": 12.0, "text": "starts outside"},
             {"start": 15.0, "end": 25.0, "text": "runs past the end"}]
    assert episode_cues(lines, timeline, "highlights") == [
        {"start": 5.0, "end": 10.0, "text": "runs past the end"}]


def test_short_cues_last_long_enough_when_there_is_room():
    spoken = [segment([(1.0, 1.0, "blink")]), segment([(3.0, 3.05, "quick")]),
              segment([(3.1, 3.6, "next")])]
    cues = episode_cues(spoken, [[0.0, 10.0, 0.0]], "full")
    assert cues[0] == {"start": 1.0, "end": 1.2, "text": "blink"}
    assert cues[1] == {"start": 3.0, "end": 3.1, "text": "quick"}   # the next cue leaves no more
    assert_in_order(cues)


def test_words_without_timing_or_text_and_empty_input():
    spoken = {"start": 1.0, "end": 3.0, "text": "ignored",
              "words": [{"start": 1.0, "end": 1.4, "word": " Hello"}, {"word": " untimed"},
                        {"start": 1.5, "end": 1.9, "word": "   "},
                        {"start": 2.0, "end": 2.4, "word": "world\n"}, "junk"]}
    assert episode_cues([spoken], [[0.0, 5.0, 0.0]], "full") == [
        {"start": 1.0, "end": 2.4, "text": "Hello world"}]
    assert episode_cues([], FULL, "full") == []
    assert episode_cues(None, FULL, "highlights") == []
    assert episode_cues([segment([(1.0, 2.0, "x")])], [], "highlights") == []
    assert episode_cues([segment([(1.0, 2.0, "x")])], [], "full") == [
        {"start": 1.0, "end": 2.0, "text": "x"}]
    with pytest.raises(ValueError):
        episode_cues([], FULL, "shorts")


# --- writers with hostile text -----------------------------------------------------------------


def hostile_cues():
    return [{"start": 1.5 * n + 0.123, "end": 1.5 * n + 1.0, "text": text}
            for n, text in enumerate(HOSTILE)]


def test_cue_line_is_one_clean_line():
    assert cue_line("first line\n\n\nsecond\r\n\r\nthird") == "first line second third"
    assert cue_line("NUL\x00here\x1b[0m") == "NULhere[0m"
    assert cue_line("a\u2028b\x85c\x0bd") == "a b c d"
    assert cue_line(None) == ""


def test_vtt_escapes_hostile_text_and_reads_back_the_same():
    cues = hostile_cues()
    text = to_vtt(cues)
    blocks = text.split("\n\n")
    assert blocks[0] == "WEBVTT" and len(blocks) == len(cues) + 1
    for block, cue in zip(blocks[1:], cues):
        timing, line = block.rstrip("\n").split("\n")
        assert " --> " in timing and "-->" not in line and "<" not in line and ">" not in line
        assert "\x00" not in line and "\x07" not in line
    assert "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt; a --&gt; b" in text
    assert "&amp;amp; already &amp;lt;escaped&amp;gt;" in text
    family = "👩\u200d👩\u200d👧"                      # joiners kept by the writer
    assert family in to_vtt([{"start": 0, "end": 1, "text": family}])
    assert parse_vtt(text) == [{"start": round(c["start"], 3), "end": c["end"],
                                "text": cue_line(c["text"])} for c in cues]


def test_vtt_and_srt_of_plain_text_are_unchanged():
    plain = [{"start": 0.0, "end": 2.5, "text": " Hello there."}]
    assert to_vtt(plain) == "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n"
    assert to_srt(plain) == "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n"


def test_srt_has_no_arrow_or_blank_line_inside_a_cue():
    cues = hostile_cues()
    blocks = to_srt(cues).split("\n\n")
    assert len(blocks) == len(cues)
    for number, (block, cue) in enumerate(zip(blocks, cues), start=1):
        index, timing, line = block.rstrip("\n").split("\n")
        assert index == str(number) and timing.count("-->") == 1
        assert "-->" not in line and line
    assert "Tom & Jerry <b>bold</b> a -> b" in blocks[0]
    assert "&amp; already &lt;escaped&gt; -> x" in blocks[5]


def test_podcast_json_transcript():
    cues = hostile_cues()
    cues[1]["speaker"] = "Host\nOne"
    written = to_podcast_json(cues, language="en")
    assert "😀" in written and "שלום" in written          # not \u-escaped
    document = json.loads(written)
    assert document["version"] == "1.0.0" and document["language"] == "en"
    segments = document["segments"]
    assert [s["body"] for s in segments] == [cue_line(text) for text in HOSTILE]
    assert segments[0] == {"startTime": 0.123, "endTime": 1.0,
                           "body": "Tom & Jerry <b>bold</b> a --> b"}
    assert segments[1]["speaker"] == "Host One"
    assert [("speaker" in s) for s in segments].count(True) == 1
    assert "\x00" not in written
    assert json.loads(to_podcast_json([])) == {"version": "1.0.0", "segments": []}


def test_episode_cues_feed_the_writers():
    spoken = segment([(0.5, 1.0, "Tom"), (1.0, 1.2, "&"), (1.2, 1.6, "Jerry"), (1.7, 2.0, "-->"),
                      (2.1, 2.5, "<i>")])
    cues = episode_cues([spoken], [[0.0, 10.0, 0.0]], "full")
    assert [c["text"] for c in parse_vtt(to_vtt(cues))] == ["Tom & Jerry --> <i>"]
    assert json.loads(to_podcast_json(cues))["segments"][0]["body"] == "Tom & Jerry --> <i>"
