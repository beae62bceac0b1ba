"""Cancellation shared between a run's controller and the work it starts."""
import threading
import time


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


class Deadline(CancelToken):
    """A token that also counts as cancelled once `seconds` have passed (`expired` then says so)."""

    def __init__(self, seconds):
        super().__init__()
        self._end = time.monotonic() + seconds

    @property
    def expired(self):
        """Whether the time is up."""
        return time.monotonic() >= self._end

    @property
    def cancelled(self):
        return self._event.is_set() or self.expired

    def raise_if_cancelled(self):
        if self.cancelled:
            raise Cancelled()

    def wait(self, timeout):
        self._event.wait(max(0.0, min(timeout, self._end - time.monotonic())))
        return self.cancelled
