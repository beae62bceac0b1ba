"""`python run.py worker`: executes runs taken from Redis (RQ), one at a time, in this process.

The job is only the run's session id: the run itself (URL, stages, effective settings, stages
already done) is read from the shared database, and its events are stored there and published
through Socket.IO's Redis message queue, so the browser sees the same events as from a local
run. While the run executes, the worker marks it alive every two seconds and watches its cancel
flag every tenth of a second; RQ's stop-job command cancels it too.
"""
import logging

from rq import SimpleWorker

from orchestration.rq_runner import session_of
from services.engine.run_board import CANCEL_POLL_SECONDS, Heartbeat, worker_name
from services.hosting import heap

log = logging.getLogger("pipeline")

_pipeline = None   # the worker process's Pipeline, set by `work`


class PipelineWorker(SimpleWorker):
    """RQ's in-process worker; its stop-job command cancels the run (no work horse to kill)."""

    def kill_horse(self, sig=None):
        session_id = session_of(self.get_current_job_id())
        if _pipeline is not None and session_id:
            _pipeline.runner.cancel(session_id)


def execute_run(session_id):
    """The RQ job: run one stored queued run here; returns its final state."""
    pipeline = _pipeline
    rq = pipeline.rq
    name = worker_name()
    try:
        with Heartbeat(rq.board, session_id, name):
            if not pipeline.lifecycle.claim(session_id, name):
                return "not queued"   # cancelled (or taken) before this worker got to it
            pipeline.runner.submit(pipeline.spec_of(session_id))
            controller = pipeline.runner.controller(session_id)
            while controller is not None and controller.thread.is_alive():
                if rq.board.cancel_asked(session_id):
                    controller.cancel()
                controller.thread.join(CANCEL_POLL_SECONDS)
            return controller.state if controller is not None else "not started"
    finally:
        rq.board.clear_cancel(session_id)
        rq.board.release_slot(session_id)
        try:
            rq.dispatch()   # the next queued run may take the slot at once
        except Exception:
            log.warning("Handing out the free slot failed; the server's watch will",
                        exc_info=True)


def work(app):
    """Take runs from the queue until stopped (Ctrl-C finishes the current run first)."""
    global _pipeline
    _pipeline = app.extensions["pipeline"]
    rq = _pipeline.rq
    heap.settle()
    worker = PipelineWorker([rq.queue], connection=rq.redis)
    print(f"Pipeline worker {worker_name()} waiting for runs on {rq.queue.name!r}", flush=True)
    worker.work(with_scheduler=False, logging_level="WARNING")
    return 0
