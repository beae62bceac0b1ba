"""Expected stage durations from run history, blended with the live rate of the running stage."""
from statistics import median

# Seconds of work per second of media, and fixed seconds, for a first run with no history.
DEFAULT_RATES = {
    "media_extraction": (0.05, 3.0),
    "transcription": (0.08, 2.0),
    "content_analysis": (0.002, 1.0),
    "segment_selection": (0.0003, 0.5),
    "summary_generation": (0.0003, 0.5),
    "audio_production": (0.1, 2.0),
    "quality_packaging": (0.03, 1.0),
}
# Parameters that say nothing about how long a stage takes.
UNTIMED_PARAMETERS = ("url", "inputs")


def timing_signature(parameters):
    """The parameters of a stage run that change its speed (model, compute type, beam …)."""
    return {k: v for k, v in (parameters or {}).items() if k not in UNTIMED_PARAMETERS}


# Until the media's duration is known, plan with this one (a typical episode, 10 minutes).
ASSUMED_MEDIA_SECONDS = 600.0


class Estimator:
    """Expected seconds per stage for one run, learned from earlier runs of the same kind.

    `history` maps a stage key to a list of (media_seconds, duration_seconds) from earlier
    completed stage runs with the same model and preset.
    """

    def __init__(self, history=None):
        self.history = history or {}

    def expected_seconds(self, stage_key, media_seconds):
        """How long `stage_key` is expected to take on media of this length."""
        media = media_seconds if media_seconds and media_seconds > 0 else ASSUMED_MEDIA_SECONDS
        samples = [d / m for m, d in self.history.get(stage_key, ()) if m and m > 0 and d >= 0]
        if samples:
            return median(samples) * media
        per_second, fixed = DEFAULT_RATES.get(stage_key, (0.01, 1.0))
        return per_second * media + fixed

    def stage_remaining(self, expected, elapsed, fraction):
        """Seconds left in the running stage: the expectation, trusted less as live data grows."""
        fraction = min(max(fraction, 0.0), 1.0)
        if fraction >= 0.02 and elapsed > 0.5:
            # What is left at the expected pace and at the pace seen so far, trusting the
            # live pace more as the stage advances.
            by_expectation = (1 - fraction) * expected
            by_live_rate = elapsed * (1 - fraction) / fraction
            return (1 - fraction) * by_expectation + fraction * by_live_rate
        return max(expected - elapsed, 0.0)
