"""Cancellation shared between a run's controller and the work it starts."""
import threading


class Cancelled(Exception):
    """Raised inside a stage when its run has been asked to stop."""


class CancelToken:
    """A flag a stage checks in its loops; setting it also wakes anyone waiting on it."""

    def __init__(self):
        self._event = threading.Event()

    def cancel(self):
        """Ask the run to stop."""
        self._event.set()

    @property
    def cancelled(self):
        """Whether a stop has been asked for."""
        return self._event.is_set()

    def raise_if_cancelled(self):
        """Raise `Cancelled` when a stop has been asked for."""
        if self._event.is_set():
            raise Cancelled()

    def wait(self, timeout):
        """Sleep up to `timeout` seconds, returning early (True) when cancelled."""
        return self._event.wait(timeout)
