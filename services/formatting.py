"""Durations and sizes as people read them (shared by the terminal, the stages and the pages)."""


def format_clock(seconds, unknown="--:--"):
    """`MM:SS`, or `H:MM:SS` past an hour; `unknown` when there is no value."""
    if seconds is None:
        return unknown
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def human_bytes(count):
    """1536 -> '1.5 KiB'."""
    value = float(count or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
