"""The one interface of a runner: what starts, queues, describes and cancels live runs.

Two runners implement it: `ThreadRunner` (services/engine/thread_runner.py) runs them in this
process's threads; `RqRunner` (orchestration/rq_runner.py) hands them to RQ workers through
Redis. The Pipeline talks only to this interface.
"""
from typing import Optional, Protocol, runtime_checkable


@runtime_checkable
class Runner(Protocol):
    """The live runs of a deployment, as the Pipeline sees them."""

    def submit(self, spec) -> str:
        """Start a stored queued run now or leave it queued: "started" or "queued"."""

    def queued_count(self) -> int:
        """How many runs wait for a slot."""

    def find_active(self, url, stages) -> Optional[tuple]:
        """(session_id, "started" or "queued") of a live run of this URL and stages, or None."""

    def controller(self, session_id):
        """The controller of a run executing in this process, or None."""

    def live_progress(self, session_id, state) -> Optional[dict]:
        """The running run's current progress payload, or None."""

    def queue_position(self, session_id) -> Optional[int]:
        """1-based place in the queue, or None when not queued."""

    def queue_reason(self, session_id) -> Optional[str]:
        """Why a queued run waits, or None."""

    def cancel(self, session_id) -> Optional[str]:
        """Stop a live run: "cancelling", "cancelled", or None when it is not live here."""

    def wait_idle(self, timeout=None) -> None:
        """Wait for the runs executing in this process to end."""
