"""ProgressTracker and Estimator: weighted, never-falling progress and time left."""
from services.engine.estimation import Estimator
from services.engine.progress import ProgressTracker
from services.formatting import format_clock, human_bytes
from services.stages import get_stage


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def make_tracker(media=None):
    clock = FakeClock()
    tracker = ProgressTracker([get_stage(1), get_stage(2)], Estimator(), media, clock=clock)
    return tracker, clock


def test_stage_progress_follows_sub_stage_weights():
    tracker, _ = make_tracker(media=60)
    tracker.start_stage(0)
    tracker.set_sub_stage("Downloading media")
    weights = get_stage(1).sub_stage_weights()
    assert tracker.stage_progress == 100 * sum(weights[:2]) / sum(weights)
    tracker.set_sub_progress(50, 100, "bytes", "half")
    assert tracker.stage_progress == 100 * (sum(weights[:2]) + weights[2] / 2) / sum(weights)
    assert tracker.payload()["sub_progress"] == {"current": 50, "total": 100, "description": "half",
                                                 "unit": "bytes"}


def test_overall_weights_stages_by_expected_time_and_never_falls():
    tracker, _ = make_tracker(media=None)
    tracker.start_stage(0)
    tracker.set_sub_stage("Extracting audio")
    before = tracker.overall
    tracker.media_seconds = 30.0  # learning the length changes the weights ...
    tracker.set_sub_progress(1, 30, "s")
    assert tracker.overall >= before  # ... but the bar does not move back
    tracker.finish_stage()
    estimator = Estimator()
    share = estimator.expected_seconds("media_extraction", 30) / (
        estimator.expected_seconds("media_extraction", 30) + estimator.expected_seconds("transcription", 30))
    assert abs(tracker.overall - 100 * share) < 1e-6


def test_progress_inside_a_sub_stage_never_falls():
    tracker, _ = make_tracker(media=60)
    tracker.start_stage(1)
    tracker.set_sub_stage("Transcribing")
    tracker.set_sub_progress(30, 60, "s")
    high = tracker.stage_progress
    tracker.set_sub_progress(10, 60, "s")
    assert tracker.stage_progress == high


def test_remaining_is_unknown_until_the_media_length_is_known():
    tracker, clock = make_tracker(media=None)
    tracker.start_stage(0)
    assert tracker.remaining() is None
    tracker.media_seconds = 600.0
    assert tracker.remaining() > 0


def test_remaining_blends_towards_the_live_rate():
    tracker, clock = make_tracker(media=600)
    tracker.start_stage(1)
    tracker.set_sub_stage("Transcribing")
    tracker.set_sub_progress(300, 600, "s")
    expected = Estimator().expected_seconds("transcription", 600)
    at_expected_pace = expected / 2   # half done: half the expected time is left
    clock.now += expected * 4         # four times slower than expected
    slow = tracker.remaining()
    assert slow > at_expected_pace * 1.5          # the live rate pulls the estimate up …
    assert slow < expected * 4                    # … towards what the live rate says is left
    fast, fast_clock = make_tracker(media=600)
    fast.start_stage(1)
    fast.set_sub_stage("Transcribing")
    fast.set_sub_progress(300, 600, "s")
    fast_clock.now += expected / 4    # twice as fast as expected
    assert fast.remaining() < at_expected_pace * 0.9   # … and down for a fast run


def test_history_replaces_the_defaults():
    estimator = Estimator({"transcription": [(100, 50), (200, 100), (100, 70)]})
    assert estimator.expected_seconds("transcription", 1000) == 500
    assert Estimator().expected_seconds("transcription", 1000) != 500


def test_format_clock():
    assert format_clock(None) == "--:--"
    assert format_clock(0) == "00:00"
    assert format_clock(65) == "01:05"
    assert format_clock(3599) == "59:59"
    assert format_clock(3600) == "1:00:00"
    assert format_clock(36061) == "10:01:01"
    assert format_clock(None, unknown="-") == "-"


def test_human_bytes():
    assert human_bytes(0) == "0 B"
    assert human_bytes(1023) == "1023 B"
    assert human_bytes(1536) == "1.5 KiB"
    assert human_bytes(5 * 1024 ** 3) == "5.0 GiB"
