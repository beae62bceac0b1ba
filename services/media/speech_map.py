"""Where people speak and where it is quiet, from audio.wav, with faster-whisper's Silero VAD.

The audio is read and classified in chunks, two at a time (faster-whisper runs the model on
one thread, and onnxruntime lets go of the GIL), so a cancel is noticed between chunks and the
memory stays bounded whatever the length.
"""
import wave
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

CHUNK_SECONDS = 120
RATE = 16000
PARALLEL = 2
PAUSE_SECONDS = 1.0   # a gap in speech at least this long counts as a pause


def _classify(samples, options):
    from faster_whisper.vad import get_speech_timestamps

    return get_speech_timestamps(samples, options, sampling_rate=RATE)


def speech_segments(wav_path, on_chunk=None, min_silence_ms=300):
    """([(start, end)] seconds of speech, total seconds) of a 16 kHz mono 16-bit WAV.

    `on_chunk(done_seconds, total_seconds)` is called after each chunk (it may raise to stop).
    """
    from faster_whisper.vad import VadOptions

    options = VadOptions(min_silence_duration_ms=min_silence_ms, speech_pad_ms=100)
    segments = []

    def collect(offset, found):
        for item in found:
            start, end = offset + item["start"] / RATE, offset + item["end"] / RATE
            if segments and start - segments[-1][1] < 0.05:  # joined across a chunk edge
                segments[-1] = (segments[-1][0], end)
            else:
                segments.append((start, end))

    with wave.open(str(wav_path), "rb") as audio, ThreadPoolExecutor(PARALLEL) as pool:
        if audio.getframerate() != RATE or audio.getnchannels() != 1 or audio.getsampwidth() != 2:
            raise ValueError("audio.wav must be 16 kHz mono 16-bit PCM")
        total = audio.getnframes() / RATE
        pending, offset = deque(), 0.0
        while True:
            frames = audio.readframes(CHUNK_SECONDS * RATE)
            if frames:
                samples = np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0
                pending.append((offset, len(samples) / RATE, pool.submit(_classify, samples, options)))
                offset += len(samples) / RATE
            if pending and (len(pending) >= PARALLEL or not frames):
                start, length, future = pending.popleft()
                collect(start, future.result())
                if on_chunk:
                    on_chunk(min(start + length, total), total)
            if not frames and not pending:
                break
    return [(round(s, 3), round(e, 3)) for s, e in segments], total


def speech_between(segments, start, end):
    """Seconds of speech inside [start, end]."""
    return sum(max(0.0, min(e, end) - max(s, start)) for s, e in segments)


def summarize(segments, duration):
    """Totals of a speech map: speech and silence seconds, ratio, pauses, longest pause."""
    speech = sum(e - s for s, e in segments)
    gaps = [b[0] - a[1] for a, b in zip(segments, segments[1:])]
    if segments:
        gaps += [segments[0][0], duration - segments[-1][1]]
    pauses = [g for g in gaps if g >= PAUSE_SECONDS]
    return {"speech_seconds": round(speech, 2), "silence_seconds": round(max(duration - speech, 0), 2),
            "speech_ratio": round(speech / duration, 3) if duration else 0.0,
            "pauses": len(pauses), "longest_pause": round(max(pauses, default=0.0), 2)}
