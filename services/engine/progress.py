"""The live progress of one run: stage and overall percentages (never falling) and time left."""
import time

from services.engine.estimation import Estimator


class ProgressTracker:
    """Turns stage, sub-stage and sub-progress reports into `pipeline_progress` payloads.

    Overall percentage weights each stage by its expected duration, so a stage expected to
    take 80% of the time moves the overall bar over 80% of its length.
    """

    def __init__(self, stages, estimator=None, media_seconds=None, clock=time.monotonic):
        self.stages = list(stages)
        self.estimator = estimator or Estimator()
        self.media_seconds = media_seconds
        self.clock = clock
        self.started = clock()
        self.index = -1
        self.stage_started = self.started
        self.sub_index = None
        self.sub_fraction = 0.0
        self.sub_progress = None
        self.stage_progress = 0.0
        self.overall = 0.0
        self.message = "Starting"
        self.status = "running"
        self.title = None

    @property
    def stage(self):
        """The definition of the running stage, or None before the first."""
        return self.stages[self.index] if 0 <= self.index < len(self.stages) else None

    def start_stage(self, index):
        """The stage at `index` of the selection begins."""
        self.index = index
        self.stage_started = self.clock()
        self.sub_index = None
        self.sub_fraction = 0.0
        self.sub_progress = None
        self.stage_progress = 0.0
        self.message = f"{self.stage.name} started"

    def set_sub_stage(self, name):
        """A named sub-stage of the running stage begins (earlier ones count as done)."""
        self.sub_index = self.stage.sub_stages.index(name)
        self.sub_fraction = 0.0
        self.sub_progress = None
        self.message = name
        self._update_stage_progress()

    def set_sub_progress(self, current, total, unit="", description=""):
        """Progress inside the sub-stage: `current` of `total` `unit`s."""
        self.sub_progress = {"current": current, "total": total,
                             "description": description, "unit": unit}
        if total:
            self.sub_fraction = min(max(current / total, 0.0), 1.0)
        if description:
            self.message = f"{self.stage.sub_stages[self.sub_index]}: {description}"
        self._update_stage_progress()

    def finish_stage(self, message=None):
        """The running stage is done; its share of the overall bar is full."""
        self.stage_progress = 100.0
        self.sub_progress = None
        self.message = message or f"{self.stage.name} completed"
        self._update_overall()

    def _update_stage_progress(self):
        weights = self.stage.sub_stage_weights()
        if self.sub_index is None:
            return
        done = sum(weights[: self.sub_index]) + weights[self.sub_index] * self.sub_fraction
        self.stage_progress = max(self.stage_progress, min(100.0, 100.0 * done / sum(weights)))
        self._update_overall()

    def _expected(self):
        return [self.estimator.expected_seconds(stage.key, self.media_seconds)
                for stage in self.stages]

    def _update_overall(self):
        expected = self._expected()
        total = sum(expected) or 1.0
        done = sum(expected[: max(self.index, 0)])
        if self.index >= 0:
            done += expected[self.index] * self.stage_progress / 100.0
        self.overall = max(self.overall, min(100.0, 100.0 * done / total))

    def elapsed(self):
        """Seconds since the run started."""
        return self.clock() - self.started

    def remaining(self):
        """Seconds expected until the run ends, or None while the media length is unknown."""
        if self.media_seconds is None or self.index < 0:
            return None
        expected = self._expected()
        current = self.estimator.stage_remaining(
            expected[self.index], self.clock() - self.stage_started, self.stage_progress / 100.0)
        return round(current + sum(expected[self.index + 1:]), 1)

    def complete(self, status, message):
        """The run has ended with `status`."""
        self.status = status
        self.message = message
        if status == "completed":
            self.overall = 100.0

    def payload(self):
        """The `pipeline_progress` payload for the current state."""
        stage = self.stage
        return {
            "title": self.title,
            "stage": stage.number if stage else None,
            "stage_key": stage.key if stage else None,
            "stage_name": stage.name if stage else None,
            "stage_description": stage.description if stage else None,
            "sub_stage": stage.sub_stages[self.sub_index] if stage and self.sub_index is not None else None,
            "sub_progress": dict(self.sub_progress) if self.sub_progress else None,
            "stage_progress": round(self.stage_progress, 2),
            "progress": round(self.overall, 2),
            "status": self.status,
            "message": self.message,
            "time_elapsed": round(self.elapsed(), 1),
            "estimated_remaining": self.remaining(),
            "error": None,
        }
