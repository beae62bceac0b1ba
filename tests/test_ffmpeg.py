"""ffmpeg with time progress, cancel and failures (services/media/ffmpeg.py)."""
import os
import threading
import time

import pytest

from services.engine.cancel import Cancelled, CancelToken
from services.media.ffmpeg import MediaError, probe, run_ffmpeg


def test_ffmpeg_converts_with_time_progress(tmp_path):
    seen = []
    out = tmp_path / "tone.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-ar", "16000", str(out)],
               CancelToken(), 3.0, seen.append)
    assert probe(out)["streams"] == ["audio"]
    assert 2.9 < probe(out)["duration"] < 3.1
    assert seen and seen == sorted(seen) and seen[-1] <= 3.0


def test_ffmpeg_cancel_ends_the_process_group_quickly(tmp_path):
    token = CancelToken()
    started = []

    def on_progress(seconds):
        started.append(seconds)

    threading.Timer(1.0, token.cancel).start()
    begin = time.monotonic()
    with pytest.raises(Cancelled):
        run_ffmpeg(["-re", "-f", "lavfi", "-i", "sine=duration=60", str(tmp_path / "long.wav")],
                   token, 60.0, on_progress)
    assert time.monotonic() - begin < 2.0
    assert started
    # no ffmpeg child of this process is left
    children = [line for line in os.popen(f"ps -o pid=,comm= --ppid {os.getpid()}").read().splitlines()
                if "ffmpeg" in line]
    assert children == []


def test_ffmpeg_failure_is_a_media_error(tmp_path):
    with pytest.raises(MediaError):
        run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), str(tmp_path / "x.wav")], CancelToken())
    with pytest.raises(MediaError):
        probe(tmp_path / "missing.mp4")
