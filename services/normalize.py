"""Two-pass loudness normalisation, and encoding.

Pass 1 measures integrated loudness and true peak (ffmpeg's `ebur128=peak=true`, BS.1770).
Pass 2 applies one gain to the whole programme — the linear normalisation loudnorm's
`linear=true` does — when that gain keeps the true peak under its target; when it cannot, the
gain is followed by a true-peak limiter (4× oversampled), as loudnorm would otherwise switch
to its dynamic mode. loudnorm itself is not used: it works at 192 kHz and took five times as
long as ebur128 to measure the same file here. The written file is measured again, because
the encoder can push peaks over what it was given; if it did, the file is made again with the
limit lowered by the overshoot (at most twice).
"""
import re

from services.media import MediaError, run_ffmpeg

SAMPLE_RATE = 48000
TP_MARGIN = 0.3            # dB over the true-peak target that the written file may show
I_MARGIN = 0.5             # LU from the integrated target
MAX_ATTEMPTS = 2           # re-encodes after the encoder overshot
ENCODERS = {"m4a": ["-c:a", "aac", "-b:a", "{bitrate}", "-movflags", "+faststart", "-f", "mp4"],
            "mp3": ["-c:a", "libmp3lame", "-b:a", "{bitrate}", "-f", "mp3"]}
SUMMARY = {"i": r"^\s*I:\s+(-?[0-9.]+|-inf) LUFS", "lra": r"^\s*LRA:\s+(-?[0-9.]+) LU",
           "tp": r"^\s*Peak:\s+(-?[0-9.]+|-inf) dBFS"}


def parse_summary(lines):
    """{"i", "lra", "tp"} from the summary ebur128 prints at the end."""
    text = "\n".join(lines)
    start = text.rfind("Summary:")
    if start < 0:
        raise MediaError("ebur128 gave no summary")
    found = {}
    for key, pattern in SUMMARY.items():
        match = re.search(pattern, text[start:], re.MULTILINE)
        if match is None:
            raise MediaError(f"ebur128's summary has no {key}")
        found[key] = -70.0 if match.group(1) == "-inf" else max(float(match.group(1)), -70.0)
    return found


def measure(source, cancel, duration=None, on_progress=None):
    """Integrated loudness (LUFS), loudness range (LU) and true peak (dBTP) of `source`."""
    lines = []
    run_ffmpeg(["-i", str(source), "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"],
               cancel, duration, on_progress, stderr_lines=lines)
    return parse_summary(lines)


def encoder_args(fmt, bitrate):
    """ffmpeg output options for `fmt` (m4a or mp3)."""
    return [arg.format(bitrate=bitrate) for arg in ENCODERS[fmt]]


def _apply(source, target, gain, limit_db, fmt, bitrate, layout, cancel, duration, on_progress):
    """`gain` dB, then (with `limit_db`) a true-peak limiter, encoded to `target`."""
    chain = f"volume={gain:.2f}dB"
    if limit_db is not None:
        limit = min(max(10 ** (limit_db / 20), 0.0625), 1.0)
        chain += (f",aresample={SAMPLE_RATE * 4},alimiter=limit={limit:.5f}:attack=5:"
                  f"release=50:level=false,aresample={SAMPLE_RATE}")
    run_ffmpeg(["-i", str(source), "-af", chain, "-ar", str(SAMPLE_RATE), *layout,
                *encoder_args(fmt, bitrate), str(target)], cancel, duration, on_progress)


def normalize_and_encode(source, target, fmt, bitrate, target_i, target_tp, cancel,
                         duration=None, on_progress=None, channels=None):
    """Write `source` to `target` at the loudness target; returns what was done and measured.

    `on_progress(fraction)` gets 0–0.5 while measuring and 0.5–1 while encoding.
    """
    def part(offset):
        if not on_progress:
            return None
        return lambda seconds: on_progress(offset + 0.5 * min(seconds / duration, 1.0)
                                           if duration else offset)

    measured = measure(source, cancel, duration, part(0.0))
    layout = ["-ac", str(channels)] if channels else []
    gain = target_i - measured["i"]
    linear = measured["tp"] + gain <= target_tp
    limit_db = None if linear else target_tp
    for attempt in range(MAX_ATTEMPTS + 1):
        _apply(source, target, gain, limit_db, fmt, bitrate, layout, cancel, duration,
               part(0.5) if attempt == 0 else None)
        written = measure(target, cancel)
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
