"""Terminal progress bars for a headless run (`python run.py process URL`)."""
import sys
import threading

from services import events
from services.formatting import format_clock


class TerminalProgress:
    """An event listener that draws one bar per stage and prints warnings and errors."""

    def __init__(self, session_id, stream=sys.stderr, width=30):
        self.session_id = session_id
        self.stream = stream
        self.width = width
        self.current_stage = None
        self.done = threading.Event()
        self.status = None

    def _line(self, text, end="\r"):
        self.stream.write("\x1b[2K" + text + end if self.stream.isatty() else text + "\n")
        self.stream.flush()

    def __call__(self, kind, event):
        if event.get("session_id") != self.session_id:
            return
        if kind == events.PROGRESS and event.get("status") == "awaiting_selection":
            self.status = "awaiting_selection"
            self._line(f"\nThe run waits for your segment selection: start the dashboard "
                       f"(python run.py) and open {event.get('review_url')} to continue.", end="\n")
            self.done.set()
        elif kind == events.PROGRESS and event.get("stage"):
            if self.current_stage not in (None, event["stage"]):
                self.stream.write("\n" if self.stream.isatty() else "")
            self.current_stage = event["stage"]
            filled = int(self.width * event["stage_progress"] / 100)
            bar = "#" * filled + "-" * (self.width - filled)
            sub = event.get("sub_stage") or ""
            self._line(f"[{event['stage']}/7] {event['stage_name']:<20} [{bar}] "
                       f"{event['stage_progress']:5.1f}%  overall {event['progress']:5.1f}%  "
                       f"left {format_clock(event['estimated_remaining'])}  {sub}"[:160])
        elif kind == events.LOG and event["level"] in ("WARNING", "ERROR", "CRITICAL"):
            self._line(f"{event['level']}: {event['message']}", end="\n")
        elif kind == events.COMPLETION:
            self.status = event["status"]
            self._line(f"\nRun {event['status']} in {format_clock(event['duration'])}", end="\n")
            for output in event["outputs"]:
                self._line(f"  {output['name']} ({output['size']} bytes)", end="\n")
            self.done.set()
