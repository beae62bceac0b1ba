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

from services.workers.processes import ProcessFailed, log_child_line, process_lines

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


class WorkerError(Exception):
    """The worker reported a failure the user can read, or died; `code` names its kind."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def run_worker(name, args, cancel, default_logger="pipeline", env=None):
    """Yield the messages (dicts) of worker `services.workers.<name>`; see `process_lines`.

    `env` adds variables to the child's environment (kept out of its command line).
    """
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                            child_env.get("PYTHONPATH")]))
    child_env["PYTHONUNBUFFERED"] = "1"
    child_env.setdefault("HF_HUB_OFFLINE", "1")
    command = [sys.executable, "-m", f"services.workers.{name}", *map(str, args)]
    failure = None
    try:
        for line in process_lines(command, cancel, log_child_line(default_logger), env=child_env):
            try:
                message = json.loads(line)
            except ValueError:
                logging.getLogger(default_logger).info("%s", line)
                continue
            if message.get("event") == "error":
                failure = message
                continue
            yield message
    except ProcessFailed as exc:
        if failure:
            raise WorkerError(failure.get("message") or "the worker failed",
                              failure.get("code")) from exc
        raise WorkerError(f"the {name} worker stopped: {exc}") from exc
    if failure:
        raise WorkerError(failure.get("message") or "the worker failed", failure.get("code"))


# --- used inside the worker process -----------------------------------------------------------

def emit(event, **data):
    """Send one message to the parent."""
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def _unchanged(text):
    return text


class _ChildFormatter(logging.Formatter):
    """One line a record; `redact` scrubs secrets (e.g. cookie values) from every line."""

    redact = staticmethod(_unchanged)

    def format(self, record):
        message = self.redact(record.getMessage()).replace("\n", " ")
        return f"{record.levelname}\t{record.name}\t{message}"


class _RedactingStream:
    """stderr for libraries that print to it directly (yt-dlp does), passed through `redact`."""

    def __init__(self, stream, redact):
        self._stream = stream
        self._redact = redact

    def write(self, text):
        return self._stream.write(self._redact(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


class WorkerRun:
    """What `worker_main` yields: lets the worker name a redactor for everything it reports."""

    def __init__(self, formatter):
        self._formatter = formatter

    def set_redactor(self, redact):
        """Pass every log line, error message and stderr write through `redact(text)` from now on."""
        self._formatter.redact = staticmethod(redact)
        sys.stderr = _RedactingStream(sys.__stderr__, redact)

    def redact(self, text):
        return self._formatter.redact(text)


@contextmanager
def worker_main():
    """Log to stderr for the parent; turn an exception into an `error` message and exit 1."""
    formatter = _ChildFormatter()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    worker = WorkerRun(formatter)
    try:
        yield worker
    except WorkerError as exc:
        emit("error", message=worker.redact(str(exc)), code=exc.code)
        sys.exit(2)
    except Exception as exc:  # reported to the parent, which fails the stage with it
        logging.getLogger("pipeline").error("worker failed", exc_info=True)
        emit("error", message=worker.redact(f"{type(exc).__name__}: {exc}"))
        sys.exit(1)
