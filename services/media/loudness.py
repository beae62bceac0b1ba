"""EBU R128 measurement with ffmpeg's ebur128 filter: integrated loudness, range, true peak and
the short-term loudness curve (in a child process that a cancel ends at once), and the
geometry of a chart of that curve."""
import logging
import math
import os
import re

from services.formatting import format_clock
from services.media.ffmpeg import MediaError, run_ffmpeg

log = logging.getLogger("ffmpeg")

FRAME_LINE = re.compile(r"\bt:\s*(?P<t>[-\d.]+)\s.*?\sS:\s*(?P<s>-?inf|nan|-?[\d.]+)")
SUMMARY_VALUES = {"I": "i", "LRA": "lra", "Peak": "tp"}
SILENCE_FLOOR = -70.0  # what ebur128 calls silence; -inf and below read as this


def _number(text):
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isnan(value):
        return None
    return max(value, SILENCE_FLOOR) if value != math.inf else None


def parse_ebur128(lines, peak=True):
    """The Summary block's I (LUFS), LRA (LU) and (with `peak`) true peak (dBFS), and the
    curve [(t, S)]."""
    summary, curve, in_summary, section = {}, [], False, None
    for line in lines:
        if not in_summary:
            if "Summary:" in line:
                in_summary = True
                continue
            match = FRAME_LINE.search(line)
            if match:
                t, short_term = _number(match.group("t")), _number(match.group("s"))
                if t is not None and short_term is not None:
                    curve.append((t, short_term))
            continue
        stripped = line.strip()
        if stripped.endswith(":") and not stripped.startswith(("I:", "LRA:", "Peak:")):
            section = stripped[:-1]  # "Integrated loudness", "Loudness range", "True peak"
            continue
        name, _, rest = stripped.partition(":")
        key = SUMMARY_VALUES.get(name)
        if key and rest.split() and (key != "tp" or section in ("True peak", None)):
            summary[key] = _number(rest.split()[0])
    missing = [key for key in SUMMARY_VALUES.values()
               if key not in summary and (peak or key != "tp")]
    if missing:
        raise MediaError(f"ffmpeg's ebur128 summary lacks {', '.join(missing)}")
    return {**summary, "curve": curve}


def meter(peak=True, curve=False):
    """The ebur128 filter: true peak (4x oversampled, slower) and the per-100 ms lines optional."""
    return f"ebur128=framelog={'info' if curve else 'quiet'}" + (":peak=true" if peak else "")


def measure(path, cancel, on_progress=None, curve=True, peak=True, filters=None, duration=None):
    """Measure `path` (after `filters`, if given): {"i", "lra", "tp", "curve"}, less "tp" without
    `peak` and with an empty curve without `curve`; `on_progress(seconds)` as ffmpeg decodes.

    Raises services.engine.cancel.Cancelled on cancel (the ffmpeg child is killed), MediaError when
    ffmpeg fails or prints no summary.
    """
    chain = ",".join(filter(None, [filters, meter(peak, curve)]))
    lines = []
    try:
        run_ffmpeg(["-i", str(path), "-af", chain, "-f", "null", "-"], cancel, duration,
                   on_progress, stderr_lines=lines)
    except MediaError as exc:
        raise MediaError(f"ffmpeg could not measure {os.path.basename(str(path))}: {exc}") from exc
    found = parse_ebur128(lines, peak)
    if not curve:
        found.pop("curve")
    return found


def downsample(curve, limit=600):
    """At most `limit` points of a [(t, value)] curve: the power mean of each equal time slice."""
    if len(curve) <= limit:
        return list(curve)
    start, end = curve[0][0], curve[-1][0]
    width = (end - start) / limit or 1.0
    buckets = [[] for _ in range(limit)]
    for t, value in curve:
        buckets[min(int((t - start) / width), limit - 1)].append((t, value))
    points = []
    for bucket in buckets:
        if bucket:
            power = sum(10 ** (value / 10) for _, value in bucket) / len(bucket)
            points.append((sum(t for t, _ in bucket) / len(bucket), 10 * math.log10(power)))
    return points


def chart(curve, lufs, duration, width=600, height=260):
    """Geometry of the inline SVG of short-term loudness over time, or None without a curve.

    The first seconds, before ebur128's 3-second window has any sound, are left out.
    """
    first = next((n for n, (_, value) in enumerate(curve) if value > SILENCE_FLOOR), None)
    points = downsample(curve[first:]) if first is not None else []
    if len(points) < 2:
        return None
    left, right, top, bottom = 52, width - 8, 12, height - 30
    values = [v for _, v in points]
    low = max(-60.0, 5 * ((min(min(values), lufs - 10) // 5)))
    high = max(min(0.0, 5 * (-(-max(max(values), lufs + 3) // 5))), low + 10)
    span_t = duration or points[-1][0] or 1.0

    def x(t):
        return round(left + (right - left) * min(max(t / span_t, 0), 1), 1)

    def y(value):
        return round(bottom - (bottom - top) * (min(max(value, low), high) - low) / (high - low), 1)

    return {"width": width, "height": height, "left": left, "right": right, "top": top,
            "bottom": bottom, "points": " ".join(f"{x(t)},{y(v)}" for t, v in points),
            "target_y": y(lufs), "target": lufs,
            "y_ticks": [(y(v), f"{v:.0f}") for v in range(int(low), int(high) + 1, 10)],
            "x_ticks": [(x(span_t * k / 4), format_clock(span_t * k / 4)) for k in range(5)]}


def target(settings):
    """The loudness target (integrated LUFS, true-peak dBTP) from the settings."""
    section = settings.get("loudness") or {}
    return (float(section.get("integrated_lufs", -16.0)),
            float(section.get("true_peak_dbtp", -1.5)))
