"""Where people speak and where it is quiet, from audio.wav, with faster-whisper's Silero VAD.

The audio is read and classified in chunks, so a cancel is noticed between chunks and the
memory stays bounded whatever the length.
"""
import wave

import numpy as np

CHUNK_SECONDS = 120
RATE = 16000
PAUSE_SECONDS = 1.0   # a gap in speech at least this long counts as a pause


def speech_segments(wav_path, on_chunk=None, min_silence_ms=300):
    """[(start, end)] seconds of speech in a 16 kHz mono 16-bit WAV.

    `on_chunk(done_seconds, total_seconds)` is called after each chunk (it may raise to stop).
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(min_silence_duration_ms=min_silence_ms, speech_pad_ms=100)
    segments = []
    with wave.open(str(wav_path), "rb") as audio:
        if audio.getframerate() != RATE or audio.getnchannels() != 1 or audio.getsampwidth() != 2:
            raise ValueError("audio.wav must be 16 kHz mono 16-bit PCM")
        total = audio.getnframes() / RATE
        offset = 0.0
        while True:
            frames = audio.readframes(CHUNK_SECONDS * RATE)
            if not frames:
                break
            samples = np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0
            for item in get_speech_timestamps(samples, options, sampling_rate=RATE):
                start, end = offset + item["start"] / RATE, offset + item["end"] / RATE
                if segments and start - segments[-1][1] < 0.05:  # joined across a chunk edge
                    segments[-1] = (segments[-1][0], end)
                else:
                    segments.append((start, end))
            offset += len(samples) / RATE
            if on_chunk:
                on_chunk(min(offset, total), total)
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
