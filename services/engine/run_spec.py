"""What to run: one run's checked request, as the engine reads it."""
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunSpec:
    """One run: its stages, folder and settings (made by services/run_request.py, or read back
    from the database for a resumed or continued run)."""

    session_id: str
    url: str
    stages: list
    episode_dir: Path
    options: dict = field(default_factory=dict)   # the checked options, as stored
    preset: str = "default"
    done_stages: tuple = ()  # stages this run already completed (when it is resumed)
    settings: dict = None    # the run's effective settings (config + preset + options)
    elapsed_before: float = 0.0   # working seconds of earlier passes (resumed or continued)
    progress_floor: float = 0.0   # overall progress already shown, never shown lower
    force: bool = False           # redo each stage rather than reuse earlier outputs
