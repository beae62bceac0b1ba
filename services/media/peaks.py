"""Waveform peaks of a PCM WAV file, for drawing an hour of audio without decoding it in the browser.

The samples are read through a memory map in blocks; each bucket's peak is the largest absolute
sample (over all channels) scaled to 0..1.
"""
import functools
import math
import os
import struct
from pathlib import Path

import numpy as np

BLOCK_BUCKETS = 20_000   # buckets reduced per block, so memory stays small for any length
PCM_FORMATS = (1, 0xFFFE)  # WAVE_FORMAT_PCM and WAVE_FORMAT_EXTENSIBLE


class PeaksError(ValueError):
    """The file is not a 16-bit PCM WAV that peaks can be read from."""


def _chunks(handle, file_size):
    """(id, data offset, size) of each RIFF chunk after the header."""
    offset = 12
    while offset + 8 <= file_size:
        handle.seek(offset)
        chunk_id, size = struct.unpack("<4sI", handle.read(8))
        yield chunk_id, offset + 8, size
        offset += 8 + size + (size & 1)


def wav_layout(path):
    """(channels, sample rate, data offset, frame count) of a 16-bit PCM WAV, or PeaksError."""
    file_size = os.path.getsize(path)
    with open(path, "rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            raise PeaksError("The audio file is not a WAV file.")
        fmt = None
        for chunk_id, start, size in _chunks(handle, file_size):
            if chunk_id == b"fmt " and size >= 16:
                handle.seek(start)
                fmt = struct.unpack("<HHIIHH", handle.read(16))
            elif chunk_id == b"data":
                if fmt is None:
                    raise PeaksError("The WAV file has no format chunk before its samples.")
                code, channels, rate, _, block_align, bits = fmt
                if code not in PCM_FORMATS or bits != 16 or not channels or not rate:
                    raise PeaksError("Peaks are read from 16-bit PCM WAV files only.")
                # A WAV written to a pipe may carry a placeholder size: trust the file instead.
                size = min(size, file_size - start)
                return channels, rate, start, size // block_align
    raise PeaksError("The WAV file has no samples.")


def waveform_peaks(wav_path, per_second=100, max_points=200_000):
    """{"duration", "sample_rate", "per_second", "peaks"}: per bucket the largest absolute sample
    in 0..1 (3 decimals), `per_second` buckets a second, fewer when that would pass `max_points`."""
    channels, rate, offset, frames = wav_layout(wav_path)
    duration = frames / rate
    count = min(max(int(math.ceil(duration * per_second)), 1), max_points) if frames else 0
    if not count:
        return {"duration": 0.0, "sample_rate": rate, "per_second": float(per_second), "peaks": []}
    samples = np.memmap(wav_path, dtype="<i2", mode="r", offset=offset, shape=(frames, channels))
    # Bucket i covers frames [edges[i], edges[i + 1]); every bucket holds at least one frame.
    edges = (np.arange(count + 1, dtype=np.int64) * frames) // count
    peaks = np.empty(count, dtype=np.float32)
    for first in range(0, count, BLOCK_BUCKETS):
        last = min(first + BLOCK_BUCKETS, count)
        block = samples[edges[first]:edges[last]]
        if channels > 1:
            high, low = block.max(axis=1), block.min(axis=1)
        else:
            high = low = block[:, 0]
        starts = edges[first:last] - edges[first]
        loudest = np.maximum(np.maximum.reduceat(high, starts).astype(np.int32),
                             -np.minimum.reduceat(low, starts).astype(np.int32))
        peaks[first:last] = loudest / 32768.0
    del samples
    return {"duration": round(duration, 3), "sample_rate": rate,
            "per_second": round(count / duration, 3) if duration else float(per_second),
            "peaks": np.round(peaks.astype(np.float64), 3).tolist()}


@functools.lru_cache(maxsize=4)
def _cached(path, mtime_ns, size, per_second, max_points):
    return waveform_peaks(path, per_second, max_points)


def cached_peaks(wav_path, per_second=100, max_points=200_000):
    """waveform_peaks, kept in memory while the file's modification time and size stay the same."""
    path = Path(wav_path)
    stat = path.stat()
    return _cached(str(path), stat.st_mtime_ns, stat.st_size, per_second, max_points)
