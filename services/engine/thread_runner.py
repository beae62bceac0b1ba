"""The thread runner: runs in this process's threads, at most `max_concurrent` at a time,
the rest queued in order (services/engine/runner.py is the interface it implements)."""
import threading
from collections import OrderedDict

from services.engine.lifecycle import RunLifecycle


class ThreadRunner:
    """The live runs of this process.

    `make_controller(spec, on_finished)` builds a PipelineController for a RunSpec.
    """

    def __init__(self, make_controller, recorder, store, max_concurrent=1):
        self.make_controller = make_controller
        self.recorder = recorder
        self.store = store
        self.lifecycle = RunLifecycle(store, recorder)
        self.max_concurrent = max(1, int(max_concurrent))
        self.running = {}
        self.queued = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, spec):
        """Start `spec` now or queue it; returns "started" or "queued"."""
        with self._lock:
            if self._startable(spec):
                self._start(spec)
                return "started"
            self.queued[spec.session_id] = spec
            return "queued"

    def queued_count(self):
        """How many runs wait for a slot."""
        with self._lock:
            return len(self.queued)

    @staticmethod
    def _folder(spec):
        return str(spec.episode_dir.resolve())

    def _folder_user(self, spec):
        """The running run that works in `spec`'s episode folder, or None."""
        folder = self._folder(spec)
        return next((c for c in self.running.values() if self._folder(c.spec) == folder), None)

    def _startable(self, spec):
        """A free slot, and no running run in the same episode folder (called with the lock)."""
        return len(self.running) < self.max_concurrent and self._folder_user(spec) is None

    def _start(self, spec):
        controller = self.make_controller(spec, self._finished)
        self.running[spec.session_id] = controller
        controller.start()

    def _finished(self, controller):
        # Outside this runner's lock: a snapshot holds the run's event lock and then asks this
        # runner for the live progress, so the two locks are only ever taken in that order.
        self.recorder.forget(controller.spec.session_id)
        with self._lock:
            self.running.pop(controller.spec.session_id, None)
            # In queue order, every run that can go now: a run waiting for its episode folder
            # does not hold up a later run of another folder.
            for session_id, spec in list(self.queued.items()):
                if len(self.running) >= self.max_concurrent:
                    break
                if self._startable(spec):
                    del self.queued[session_id]
                    self._start(spec)

    def find_active(self, url, stages):
        """The session_id and status of a running or queued run of this URL and stages, or None."""
        with self._lock:
            live = [(c.spec, "started") for c in self.running.values()]
            live += [(spec, "queued") for spec in self.queued.values()]
        for spec, status in live:
            if spec.url == url and list(spec.stages) == list(stages):
                return spec.session_id, status
        return None

    def controller(self, session_id):
        """The controller of a running run, or None."""
        with self._lock:
            return self.running.get(session_id)

    def live_progress(self, session_id, _state=None):
        """The running run's current progress payload, or None."""
        controller = self.controller(session_id)
        return controller.live_progress() if controller else None

    def queue_position(self, session_id):
        """1-based place in the queue, or None when not queued."""
        with self._lock:
            for position, queued_id in enumerate(self.queued, start=1):
                if queued_id == session_id:
                    return position
        return None

    def queue_reason(self, session_id):
        """Why a queued run waits: the run using its episode folder, else a free slot."""
        with self._lock:
            spec = self.queued.get(session_id)
            if spec is None:
                return None
            user = self._folder_user(spec)
            if user is not None:
                return (f"waiting for run {user.spec.session_id[:8]}, which works in the same "
                        f"episode folder ({spec.episode_dir.name})")
            return "waiting for a free slot"

    def cancel(self, session_id):
        """Stop a running or queued run: "cancelling", "cancelled" or None (not live here)."""
        with self._lock:
            controller = self.running.get(session_id)
            if controller is not None:
                return controller.cancel()
            spec = self.queued.pop(session_id, None)
        if spec is None:
            return None
        self.lifecycle.cancel_queued(session_id)
        return "cancelled"

    def wait_idle(self, timeout=None):
        """Wait for every running run's thread to end (used at shutdown and in tests)."""
        with self._lock:
            controllers = list(self.running.values())
        for controller in controllers:
            if controller.thread is not None:
                controller.thread.join(timeout)
