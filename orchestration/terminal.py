"""Terminal progress bars for a headless run (`python run.py process URL`)."""
import sys
import threading
import time

from services.engine import events
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


class BatchTerminalProgress:
    """A batch event listener that draws one bar per running entry and an overall bar."""

    def __init__(self, batch_id, entries, stream=sys.stderr, width=24, every=2.0):
        self.batch_id = batch_id
        self.entries = {entry["position"]: entry for entry in entries}
        self.stream = stream
        self.width = width
        self.every = every        # seconds between blocks when not on a terminal
        self.drawn = 0            # lines of the last block (redrawn in place on a terminal)
        self.last_block = 0.0
        self.done = threading.Event()
        self.state = None

    def _bar(self, percent):
        filled = int(self.width * min(max(percent or 0.0, 0.0), 100.0) / 100)
        return "#" * filled + "-" * (self.width - filled)

    def _block(self, summary):
        lines = []
        for position, entry in sorted(self.entries.items()):
            if entry["state"] != "running":
                continue
            stage = f"stage {entry['stage']} {entry['stage_name'] or ''}" if entry["stage"] else ""
            title = (entry.get("title") or entry["url"])[:40]
            lines.append(f"  {position:>3}. {title:<40} [{self._bar(entry['progress'])}] "
                         f"{entry['progress'] or 0.0:5.1f}%  {stage}"[:160])
        counts = ", ".join(f"{count} {state}" for state, count in summary["counts"].items())
        lines.append(f"overall [{self._bar(summary['progress'])}] {summary['progress']:5.1f}%  "
                     f"elapsed {format_clock(summary['time_elapsed'])}  "
                     f"left {format_clock(summary['estimated_remaining'])}  ({counts})"[:160])
        return lines

    def _draw(self, summary, force=False):
        tty = self.stream.isatty()
        now = time.monotonic()
        if not tty and not force and now - self.last_block < self.every:
            return
        lines = self._block(summary)
        if tty and self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F")
        for line in lines:
            self.stream.write(("\x1b[2K" if tty else "") + line + "\n")
        if tty and self.drawn > len(lines):
            self.stream.write("\x1b[J")
        self.stream.flush()
        self.drawn = len(lines) if tty else 0
        self.last_block = now

    def __call__(self, kind, event):
        if event.get("batch_id") != self.batch_id:
            return
        if kind == events.BATCH_ENTRY:
            before = self.entries.get(event["position"])
            self.entries[event["position"]] = event
            if before is None or before["state"] != event["state"]:
                self.last_block = 0.0   # an entry started or ended: show it at once
        elif kind == events.BATCH_PROGRESS and event["state"] == "running":
            self._draw(event)
        elif kind == events.BATCH_COMPLETION:
            self.state = event["state"]
            self._draw(dict(event, time_elapsed=event["duration"], estimated_remaining=0.0),
                       force=True)
            for position, entry in sorted(self.entries.items()):
                self.stream.write(f"  {position:>3}. {entry['state']:<10} "
                                  f"{(entry.get('title') or entry['url'])[:60]}"
                                  f"{'  ' + entry['error'][:80] if entry.get('error') else ''}\n")
            self.stream.write(f"Batch {self.state}\n")
            self.stream.flush()
            self.done.set()
