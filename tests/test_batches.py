"""Batch input and arithmetic (services/batches.py, services/download/playlist.py): item ranges, URL
lists, entry selection, a batch's state from its runs, weighted progress and time left."""
import pytest

from services.batches import (
    Entry,
    batch_state,
    entry_weights,
    overall,
    parse_ranges,
    parse_url_list,
    ranges_text,
    select,
)
from services.download.playlist import looks_like_playlist
from services.engine.estimation import Estimator
from services.input_checks import ValidationError


@pytest.mark.parametrize("text, positions", [
    ("1-3,7", [1, 2, 3, 7]),
    (" 5 , 2-3 ", [2, 3, 5]),
    ("4,4,3-4", [3, 4]),
    ("10", [10]),
    ("", None),
    (None, None),
])
def test_ranges_name_positions_in_playlist_order(text, positions):
    assert parse_ranges(text) == positions


@pytest.mark.parametrize("text", ["0", "3-1", "1-", "-2", "a", "1,,2", "1;2", "²", "1-٣",
                                  "1" * 7, "100000", "1-100000", "1" + ",1" * 150, 5, ["1"]])
def test_malformed_ranges_are_refused_with_the_field(text):
    with pytest.raises(ValidationError) as refused:
        parse_ranges(text)
    assert refused.value.field == "playlist_items"
    assert refused.value.code == "invalid_range"


def test_ranges_text_is_what_yt_dlp_reads():
    assert ranges_text([1, 2, 3, 7, 9, 10]) == "1-3,7,9-10"
    assert ranges_text([4]) == "4"


def test_url_list_skips_blank_lines_and_comments():
    entries = parse_url_list("\ufeffhttps://a.example/1.mp4\n\n# a comment\n  http://b.example/x \r\n")
    assert [entry.url for entry in entries] == ["https://a.example/1.mp4", "http://b.example/x"]


def test_every_bad_line_of_a_url_list_is_named():
    text = "https://ok.example/a.mp4\nftp://files.example/b\nnot a url\nhttps://ok.example/c\njavascript:x"
    with pytest.raises(ValidationError) as refused:
        parse_url_list(text)
    message = refused.value.message
    assert refused.value.code == "invalid_lines" and refused.value.field == "urls"
    assert message.startswith("3 lines of the list are not URLs")
    for named in ("line 2 ('ftp://files.example/b')", "line 3 ('not a url')",
                  "line 5 ('javascript:x')"):
        assert named in message
    assert "line 1 " not in message and "line 4 " not in message


def test_a_long_list_of_bad_lines_names_the_first_and_counts_the_rest():
    with pytest.raises(ValidationError) as refused:
        parse_url_list("\n".join(f"bad {n}" for n in range(30)))
    assert "line 20 " in refused.value.message and "line 21 " not in refused.value.message
    assert "and 10 more" in refused.value.message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment"])
def test_an_empty_list_is_refused(text):
    with pytest.raises(ValidationError) as refused:
        parse_url_list(text)
    assert refused.value.code == "empty_list"


def test_private_addresses_in_a_list_follow_the_setting():
    assert parse_url_list("http://10.0.0.5/a.mp4")
    with pytest.raises(ValidationError) as refused:
        parse_url_list("http://10.0.0.5/a.mp4", block_private=True)
    assert "line 1" in refused.value.message


def test_select_keeps_order_runs_each_url_once_and_applies_the_limit():
    entries = [Entry(f"https://x.example/{name}") for name in "abcab"]
    assert [e.url[-1] for e in select(entries, None, 5)] == ["a", "b", "c"]
    assert [e.url[-1] for e in select(entries, [2, 3, 9], 5)] == ["b", "c"]
    with pytest.raises(ValidationError) as refused:
        select(entries, None, 2)
    assert refused.value.code == "too_many_entries" and "3 entries" in refused.value.message
    with pytest.raises(ValidationError) as refused:
        select(entries, [8, 9], 5)
    assert refused.value.code == "empty_selection"


@pytest.mark.parametrize("states, expected", [
    (["completed", "completed"], "completed"),
    (["completed", "running"], "running"),
    (["queued", "failed"], "running"),
    (["completed", "failed"], "completed_with_errors"),
    (["completed", "interrupted"], "completed_with_errors"),
    (["completed", "cancelled", "failed"], "cancelled"),
    (["awaiting_selection", "completed"], "running"),
])
def test_batch_state_derives_from_the_runs(states, expected):
    assert batch_state(states) == expected


def test_weights_follow_media_length_and_share_evenly_when_unknown():
    estimator = Estimator()
    keys = ["media_extraction", "transcription"]
    weights = entry_weights([100.0, 300.0, None], estimator, keys)
    assert weights[0] < weights[1]
    assert weights[2] == pytest.approx(entry_weights([200.0], estimator, keys)[0])
    even = entry_weights([None, None], estimator, keys)
    assert even[0] == even[1] > 0


def test_overall_progress_is_weighted_and_time_left_is_shared_over_slots():
    entries = [
        {"weight": 30.0, "state": "completed", "progress": 100.0, "estimated_remaining": 0.0},
        {"weight": 60.0, "state": "running", "progress": 50.0, "estimated_remaining": 20.0},
        {"weight": 10.0, "state": "queued", "progress": 0.0, "estimated_remaining": None},
    ]
    progress, remaining = overall(entries, concurrency=1)
    assert progress == pytest.approx(60.0)   # (30 + 30) of 100
    assert remaining == pytest.approx(30.0)   # 20 left of the running one, 10 of the queued
    _, shared = overall(entries, concurrency=2)
    assert shared == pytest.approx(20.0)      # the running entry's own 20 s bound it
    failed = [dict(entries[0]), dict(entries[1], state="failed", estimated_remaining=None)]
    assert overall(failed) == (pytest.approx(100 * 60 / 90, abs=0.01), 0.0)


@pytest.mark.parametrize("url, expected", [
    ("https://www.youtube.com/playlist?list=PL1234567890abcdef", True),
    ("https://www.youtube.com/@somechannel/videos", True),
    ("https://www.youtube.com/channel/UC1234567890abcdefghijkl", True),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", False),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PL1234567890abcdef", False),
    ("http://127.0.0.1:8000/podcast.rss", True),
    ("https://example.com/show/feed/", True),
    ("https://example.com/episodes/feed.xml", True),
    ("http://127.0.0.1:8000/fast/talk.mp4", False),
    ("https://example.com/watch/feedback.mp4", False),
])
def test_playlists_are_recognised_without_fetching_anything(url, expected):
    assert looks_like_playlist(url) is expected
