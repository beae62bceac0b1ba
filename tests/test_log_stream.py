"""Log records of a run's own threads stream as its events (orchestration/log_stream.py)."""
import logging

from orchestration.log_stream import RunLogHandler
from services.engine.run_logs import bound_to_run, current_run, start_thread


def test_log_handler_streams_only_records_of_bound_threads():
    got = []

    class Recorder:
        def emit_log(self, session_id, payload):
            got.append((session_id, "log_stream", payload))

    handler = RunLogHandler(logging.INFO)
    handler.route("run-1", Recorder())
    logger = logging.getLogger("pipeline.test")
    record = logger.makeRecord("pipeline.test", logging.INFO, __file__, 1, "hello %s", ("<b>",), None)
    handler.handle(record)
    assert got == []
    with bound_to_run("run-1"):
        assert current_run() == "run-1"
        handler.handle(record)
        start_thread(lambda: handler.handle(record)).join()
    assert current_run() is None
    assert got == [("run-1", "log_stream", {"level": "INFO", "message": "hello <b>",
                                            "logger": "pipeline.test"})] * 2
