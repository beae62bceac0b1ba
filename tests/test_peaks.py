"""Waveform peaks from PCM WAV files: loud and silent stretches, channels, limits, bad files."""
import os
import subprocess
import time
import wave

import numpy as np
import pytest

from services.media.ffmpeg import ffmpeg_path
from services.media.peaks import PeaksError, cached_peaks, wav_layout, waveform_peaks

RATE = 16_000


def write_wav(path, samples, rate=RATE, width=2):
    """Write int16 samples (frames × channels) as a PCM WAV with the standard library."""
    samples = np.asarray(samples)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


@pytest.fixture
def loud_then_silent(tmp_path):
    """Four seconds of 16 kHz mono as stage 1 writes it (ffmpeg): a loud tone, then silence."""
    path = tmp_path / "audio.wav"
    subprocess.run([ffmpeg_path(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=2",
                    "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono:d=2",
                    "-filter_complex", "[0]volume=6[a];[a][1]concat=n=2:v=0:a=1",
                    "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(path)],
                   check=True, timeout=60)
    return path


def test_loud_half_and_silent_half_show_in_the_peaks(loud_then_silent):
    found = waveform_peaks(loud_then_silent, per_second=50)
    assert found["sample_rate"] == RATE
    assert found["duration"] == pytest.approx(4.0, abs=0.01)
    peaks = found["peaks"]
    assert len(peaks) == 200 and found["per_second"] == pytest.approx(50, abs=0.1)
    loud, silent = peaks[:95], peaks[105:]
    assert min(loud) > 0.6 and max(loud) <= 1.0      # a sine of 1/8 amplitude, 6 times louder
    assert max(silent) == 0.0
    assert all(round(value, 3) == value for value in peaks)


def test_each_bucket_holds_its_loudest_sample_of_any_channel(tmp_path):
    frames = np.zeros((RATE, 2), dtype=np.int16)     # one second, 10 buckets of 1,600 frames
    frames[100, 0] = 16384                           # bucket 0: +0.5 on the left
    frames[1700, 1] = -32768                         # bucket 1: full scale, negative, on the right
    frames[3300, 0], frames[3301, 1] = -8192, 3277   # bucket 2: the larger magnitude wins
    found = waveform_peaks(write_wav(tmp_path / "stereo.wav", frames), per_second=10)
    assert found["peaks"] == [0.5, 1.0, 0.25] + [0.0] * 7


def test_long_audio_is_limited_to_max_points(tmp_path):
    samples = (np.sin(np.arange(RATE * 30) / 5) * 10_000).astype(np.int16)
    found = waveform_peaks(write_wav(tmp_path / "long.wav", samples), per_second=100,
                           max_points=1000)
    assert len(found["peaks"]) == 1000
    assert found["per_second"] == pytest.approx(1000 / 30, abs=0.01)
    assert min(found["peaks"]) > 0.29


def test_a_placeholder_data_size_is_read_up_to_the_end_of_the_file(tmp_path):
    path = write_wav(tmp_path / "piped.wav", np.full(RATE, 1000, dtype=np.int16))
    data = bytearray(path.read_bytes())
    where = data.index(b"data") + 4
    data[where:where + 4] = b"\xff\xff\xff\xff"      # as ffmpeg leaves it when writing to a pipe
    path.write_bytes(bytes(data))
    channels, rate, _, frames = wav_layout(path)
    assert (channels, rate, frames) == (1, RATE, RATE)
    assert set(waveform_peaks(path, per_second=4)["peaks"]) == {0.031}


@pytest.mark.parametrize("content, message", [
    (b"", "not a WAV"),
    (b"ID3\x03\x00\x00\x00" + b"\x00" * 100, "not a WAV"),
    (b"RIFF\x04\x00\x00\x00WAVE", "no samples"),
])
def test_files_that_are_not_wav_are_refused(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(PeaksError, match=message):
        waveform_peaks(path)


def test_eight_bit_wav_is_refused(tmp_path):
    path = tmp_path / "eight.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(bytes(800))
    with pytest.raises(PeaksError, match="16-bit"):
        waveform_peaks(path)


def test_empty_wav_gives_no_peaks(tmp_path):
    found = waveform_peaks(write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.int16)))
    assert found["peaks"] == [] and found["duration"] == 0.0


def test_cache_follows_the_file(tmp_path):
    path = write_wav(tmp_path / "audio.wav", np.zeros(RATE, dtype=np.int16))
    first = cached_peaks(path, per_second=10)
    assert cached_peaks(path, per_second=10) is first
    write_wav(path, np.full(RATE * 2, 32767, dtype=np.int16))
    later = time.time() + 5
    os.utime(path, (later, later))
    second = cached_peaks(path, per_second=10)
    assert second is not first and second["peaks"] == [1.0] * 20
