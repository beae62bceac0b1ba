"""Streams the log records of a run's own work (its threads, yt-dlp, ffmpeg) as `log_stream` events."""
import logging
import threading

from services.engine.run_logs import current_run

STREAMED_LOGGERS = ("pipeline", "yt_dlp", "ffmpeg", "faster_whisper")
MAX_MESSAGE = 4000


class RunLogHandler(logging.Handler):
    """One handler on the root logger; each run routes its records to its own recorder."""

    def __init__(self, level=logging.INFO):
        super().__init__(level)
        self.routes = {}
        self._local = threading.local()

    def createLock(self):
        # No handler-wide lock: the recorder orders each run's events itself, and a second lock
        # taken in the other order (recorder, then logging) by a run thread could deadlock.
        self.lock = None

    def route(self, session_id, recorder):
        """Send records of threads bound to `session_id` to `recorder`."""
        self.routes[session_id] = recorder

    def unroute(self, session_id):
        """Stop streaming records of `session_id`."""
        self.routes.pop(session_id, None)

    def emit(self, record):
        session_id = current_run()
        recorder = self.routes.get(session_id) if session_id else None
        if recorder is None or getattr(self._local, "busy", False):
            return
        self._local.busy = True  # a record logged while storing one is not streamed again
        try:
            message = record.getMessage()
            if record.exc_info and record.levelno >= logging.ERROR:
                message += "\n" + self.formatter_for_exceptions.formatException(record.exc_info)
            recorder.emit_log(session_id, {
                "level": record.levelname,
                "message": message[:MAX_MESSAGE],
                "logger": record.name,
            })
        except Exception:  # logging must never break the run it describes
            self.handleError(record)
        finally:
            self._local.busy = False

    formatter_for_exceptions = logging.Formatter()


_handler = None


def install(level_name="INFO"):
    """The process-wide run log handler, added to the root logger once."""
    global _handler
    level = logging.getLevelName(str(level_name).upper())
    if not isinstance(level, int):
        level = logging.INFO
    if _handler is None:
        _handler = RunLogHandler(level)
        logging.getLogger().addHandler(_handler)
    _handler.setLevel(level)
    for name in STREAMED_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)
    return _handler
