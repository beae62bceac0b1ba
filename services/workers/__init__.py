"""Stage work that runs in a child process, so a cancel can end it at once.

A worker prints one JSON object a line on stdout (`{"event": ..., ...}`) and its log records
on stderr as `LEVEL<TAB>logger<TAB>message`; the parent re-logs them under the same names,
so they reach the run's log stream.
"""
import json
import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from services.processes import ProcessFailed, log_child_line, process_lines

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


class WorkerError(Exception):
    """The worker reported a failure the user can read, or died."""


def run_worker(name, args, cancel, default_logger="pipeline"):
    """Yield the messages (dicts) of worker `services.workers.<name>`; see `process_lines`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("HF_HUB_OFFLINE", "1")
    command = [sys.executable, "-m", f"services.workers.{name}", *map(str, args)]
    failure = None
    try:
        for line in process_lines(command, cancel, log_child_line(default_logger), env=env):
            try:
                message = json.loads(line)
            except ValueError:
                logging.getLogger(default_logger).info("%s", line)
                continue
            if message.get("event") == "error":
                failure = message.get("message") or "the worker failed"
                continue
            yield message
    except ProcessFailed as exc:
        raise WorkerError(failure or f"the {name} worker stopped: {exc}") from exc
    if failure:
        raise WorkerError(failure)


# --- used inside the worker process -----------------------------------------------------------

def emit(event, **data):
    """Send one message to the parent."""
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


class _ChildFormatter(logging.Formatter):
    def format(self, record):
        message = record.getMessage().replace("\n", " ")
        return f"{record.levelname}\t{record.name}\t{message}"


@contextmanager
def worker_main():
    """Log to stderr for the parent; turn an exception into an `error` message and exit 1."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ChildFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    try:
        yield
    except WorkerError as exc:
        emit("error", message=str(exc))
        sys.exit(2)
    except Exception as exc:  # reported to the parent, which fails the stage with it
        logging.getLogger("pipeline").error("worker failed", exc_info=True)
        emit("error", message=f"{type(exc).__name__}: {exc}")
        sys.exit(1)
