"""What every process of an RQ deployment shares in Redis about runs: who holds a run slot,
which runs are alive on a worker, and which are asked to stop.

Keys (all under `pipeline:`):
- `slots`: a set of the session ids that hold one of the `max_concurrent_runs` slots, from the
  moment they are handed to RQ until their job ends;
- `alive:<id>`: set by the worker running the run, refreshed every HEARTBEAT_SECONDS, expiring
  after ALIVE_SECONDS: a run whose key is gone has lost its worker;
- `cancel:<id>`: a stop request that the worker's cancel watcher sees within CANCEL_POLL_SECONDS;
- `job:<id>`: the RQ job id of the run's latest job (for RQ's stop-job command);
- `dispatch`: the lock under which slots are counted and handed out.
"""
import logging
import os
import socket
import threading

log = logging.getLogger("pipeline")

QUEUE_NAME = "pipeline"
PREFIX = "pipeline:"
HEARTBEAT_SECONDS = 2.0
ALIVE_SECONDS = 10
CANCEL_POLL_SECONDS = 0.1
FLAG_SECONDS = 24 * 3600


def connect(url):
    """A Redis client for `url` (redis://host:port/db)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5,
                                health_check_interval=30)


def worker_name():
    """This worker's name as the logs show it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


class RunBoard:
    """The shared run state of one Redis database."""

    def __init__(self, redis):
        self.redis = redis

    # --- slots -----------------------------------------------------------------------------
    def slots(self):
        """The session ids that hold a slot."""
        return {value.decode() for value in self.redis.smembers(PREFIX + "slots")}

    def take_slot(self, session_id, job_id):
        self.redis.sadd(PREFIX + "slots", session_id)
        self.redis.set(PREFIX + f"job:{session_id}", job_id, ex=FLAG_SECONDS)

    def release_slot(self, session_id):
        self.redis.srem(PREFIX + "slots", session_id)

    def job_id(self, session_id):
        value = self.redis.get(PREFIX + f"job:{session_id}")
        return value.decode() if value else None

    def dispatch_lock(self):
        """The lock that makes counting and handing out slots one step across processes."""
        return self.redis.lock(PREFIX + "dispatch", timeout=30, blocking_timeout=30)

    # --- liveness --------------------------------------------------------------------------
    def beat(self, session_id, worker):
        """Mark the run alive on `worker` for the next ALIVE_SECONDS."""
        self.redis.set(PREFIX + f"alive:{session_id}", worker, ex=ALIVE_SECONDS)

    def alive(self, session_id):
        """The worker that last said the run is alive, or None once it has gone quiet."""
        value = self.redis.get(PREFIX + f"alive:{session_id}")
        return value.decode() if value else None

    def gone(self, session_id):
        self.redis.delete(PREFIX + f"alive:{session_id}")

    # --- cancel ----------------------------------------------------------------------------
    def ask_cancel(self, session_id):
        self.redis.set(PREFIX + f"cancel:{session_id}", "1", ex=FLAG_SECONDS)

    def cancel_asked(self, session_id):
        return bool(self.redis.exists(PREFIX + f"cancel:{session_id}"))

    def clear_cancel(self, session_id):
        self.redis.delete(PREFIX + f"cancel:{session_id}")


class Heartbeat:
    """Marks a run alive in Redis (`with Heartbeat(board, session_id, name):`) until the block
    ends; a worker, or a headless run beside an RQ deployment, holds one per run."""

    def __init__(self, board, session_id, name):
        self.board, self.session_id, self.name = board, session_id, name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"beat-{session_id[:8]}",
                                        daemon=True)

    def __enter__(self):
        self.board.beat(self.session_id, self.name)
        self._thread.start()
        return self

    def _beat(self):
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self.board.beat(self.session_id, self.name)
            except Exception:   # Redis away for a moment; the next beat tries again
                log.warning("Could not mark run %s alive", self.session_id[:8], exc_info=True)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.board.gone(self.session_id)
