"""Two-pass loudness normalisation, and encoding.

Pass 1 measures integrated loudness and true peak (ffmpeg's `ebur128=peak=true`, BS.1770; the
caller may have measured while it made the audio). Pass 2 applies one gain to the whole
programme — the linear normalisation loudnorm's `linear=true` does — when that gain keeps the
true peak under its target; when it cannot, the gain is followed by a peak limiter, as
loudnorm would otherwise switch to its dynamic mode; the limiter takes some loudness away, so
a few quick measure-only passes (no encoding) raise the gain until the limited programme meets
the target, before the one encode. loudnorm itself is not used: it works at 192 kHz and took five times as
long as ebur128 to measure the same file here. The written file is measured again, because
the encoder can push peaks over what it was given (the limit is set 1 dB under the target for
that); if it still did, the file is made again with the limit lowered by the overshoot (at
most twice).
"""
from services.media.ffmpeg import run_ffmpeg
from services.media.loudness import measure

SAMPLE_RATE = 48000
TP_MARGIN = 0.3            # dB over the true-peak target that the written file may show
I_MARGIN = 0.7             # LU from the integrated target
TRIALS = 3                 # measure-only passes that find the gain the limiter needs
MAX_ATTEMPTS = 2           # re-encodes after the encoder overshot
ENCODER_HEADROOM = 1.0     # dB kept under the true-peak target for inter-sample peaks and the
                           # encoder's overshoot
# ffmpeg's AAC encoder at 128 kb/s with its own cutoff put a peak 4.5 dB over its input on one
# fixture; an 18 kHz cutoff (above what speech carries) kept it within 0.2 dB.
ENCODERS = {"m4a": ["-c:a", "aac", "-b:a", "{bitrate}", "-cutoff", "18000", "-movflags", "+faststart",
                    "-f", "mp4"],
            "mp3": ["-c:a", "libmp3lame", "-b:a", "{bitrate}", "-f", "mp3"]}

def encoder_args(fmt, bitrate):
    """ffmpeg output options for `fmt` (m4a or mp3)."""
    return [arg.format(bitrate=bitrate) for arg in ENCODERS[fmt]]


def _chain(gain, limit_db):
    """`gain` dB, then (with `limit_db`) a true-peak limiter."""
    chain = f"volume={gain:.2f}dB"
    if limit_db is not None:
        limit = min(max(10 ** (limit_db / 20), 0.0625), 1.0)
        chain += f",alimiter=limit={limit:.5f}:attack=5:release=50:level=false"
    return chain


def _apply(source, target, gain, limit_db, fmt, bitrate, layout, cancel, duration, on_progress):
    """The gain and limiter, encoded to `target`."""
    run_ffmpeg(["-i", str(source), "-af", _chain(gain, limit_db), "-ar", str(SAMPLE_RATE), *layout,
                *encoder_args(fmt, bitrate), str(target)], cancel, duration, on_progress)


def _limited_loudness(source, gain, limit_db, cancel):
    """Integrated loudness after the gain and limiter, measured without encoding (the limiter
    takes some loudness away; the gain is raised by that much before the one encode)."""
    return measure(source, cancel, curve=False, peak=False, filters=_chain(gain, limit_db))["i"]


def normalize_and_encode(source, target, fmt, bitrate, target_i, target_tp, cancel,
                         duration=None, on_progress=None, channels=None, measured=None):
    """Write `source` to `target` at the loudness target; returns what was done and measured.

    `on_progress(fraction)` gets 0–0.5 while measuring and 0.5–1 while encoding.
    """
    def part(offset):
        if not on_progress:
            return None
        return lambda seconds: on_progress(offset + 0.5 * min(seconds / duration, 1.0)
                                           if duration else offset)

    if measured is None:
        measured = measure(source, cancel, part(0.0), curve=False, duration=duration)
    layout = ["-ac", str(channels)] if channels else []
    gain = target_i - measured["i"]
    linear = measured["tp"] + gain <= target_tp - ENCODER_HEADROOM
    limit_db = None if linear else target_tp - ENCODER_HEADROOM
    for _ in range(TRIALS if limit_db is not None else 0):
        missing = target_i - _limited_loudness(source, gain, limit_db, cancel)
        gain += missing
        if abs(missing) < 0.2:
            break
    for attempt in range(MAX_ATTEMPTS + 1):
        _apply(source, target, gain, limit_db, fmt, bitrate, layout, cancel, duration,
               part(0.5) if attempt == 0 else None)
        written = measure(target, cancel, curve=False)
        if written["tp"] <= target_tp + TP_MARGIN and abs(written["i"] - target_i) <= I_MARGIN:
            break
        if attempt == MAX_ATTEMPTS:
            break
        gain += target_i - written["i"]
        limit_db = (limit_db if limit_db is not None else target_tp) - (
            max(written["tp"] - target_tp, 0.0) + 0.1)
    return {"method": "linear" if limit_db is None else "gain-limiter",
            "gain_db": round(gain, 2), "limit_dbtp": None if limit_db is None else round(limit_db, 2),
            "input": measured, "output": written}
