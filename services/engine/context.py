"""What a stage gets to do its work: its run's inputs, folder, settings, cancel and reporting."""
import json
import logging
import os
from pathlib import Path


class StageError(Exception):
    """A stage failed for a reason the user can act on; the message says what and why.

    `code` names the kind of failure for programs (e.g. "age_restricted"), when it is known.
    """

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class StageContext:
    """Handed to `stage.run(ctx)`. Reporting goes to the controller, which owns timing."""

    def __init__(self, session_id, url, episode_dir, settings, cancel, reporter):
        self.session_id = session_id
        self.url = url
        self.episode_dir = Path(episode_dir)
        self.settings = settings   # the run's checked settings: all a stage reads of the request
        self.cancel = cancel
        self._reporter = reporter
        self.log = logging.getLogger("pipeline")

    def path(self, name):
        """A path inside the episode folder."""
        return self.episode_dir / name

    def sub_stage(self, name):
        """Announce the sub-stage now running (one of the stage's declared names)."""
        self.cancel.raise_if_cancelled()
        self._reporter.sub_stage(name)

    def progress(self, current, total, unit="", description=""):
        """Report progress inside the sub-stage; also the place where a cancel is noticed."""
        self._reporter.sub_progress(current, total, unit, description)
        self.cancel.raise_if_cancelled()

    def set_media(self, duration=None, title=None):
        """Record what was learnt about the media (used for estimates and the run page)."""
        self._reporter.media_info(duration=duration, title=title)

    def write_text(self, name, text):
        """Write an output atomically, so a stopped stage never leaves a half file under its name."""
        path = self.path(name)
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return path

    def read_json(self, name, needed_from=None):
        """An earlier stage's JSON output ({} when missing, unless `needed_from` names the stage
        that makes it); a StageError that says what to do when it cannot be read."""
        try:
            return json.loads(self.path(name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            if needed_from is None:
                return {}
            raise StageError(f"{name} is missing: run {needed_from} first.") from None
        except (OSError, ValueError) as exc:
            raise StageError(f"{name} cannot be read ({exc}); run the stage that makes it again.") from exc

    def write_json(self, name, data):
        """Write a JSON output atomically."""
        return self.write_text(name, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
