"""The login throttle: at most `limit` token tries per client address in any `window` seconds.

A try is a post of the login form, or a wrong access token sent in a header or `?token=`.
Memory stays bounded: each address keeps only its last `limit` try times, addresses whose
tries are all older than the window are dropped, and at most `max_addresses` are tracked (the
one tried least recently goes first).
"""
import math
import threading
import time
from collections import OrderedDict, deque

LIMIT = 10
WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 4096


class TryThrottle:
    """Counts token tries per client address; thread-safe. `clock` gives seconds (monotonic)."""

    def __init__(self, limit=LIMIT, window=WINDOW_SECONDS, max_addresses=MAX_ADDRESSES,
                 clock=time.monotonic):
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self.clock = clock
        self._tries = OrderedDict()   # address -> deque of try times; least recently tried first
        self._lock = threading.Lock()

    def _recent(self, address, now):
        """The address's try times inside the window, or None (its stale entry dropped)."""
        times = self._tries.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._tries[address]
            return None
        return times

    def _blocked(self, address, now):
        times = self._recent(address, now)
        return times is not None and len(times) >= self.limit

    def _evict(self, now, keep):
        """Drop stale addresses, then the least recently tried ones beyond the cap."""
        while self._tries:
            address, times = next(iter(self._tries.items()))
            stale = times[-1] <= now - self.window
            full = len(self._tries) >= self.max_addresses and keep not in self._tries
            if not (stale or full):
                return
            del self._tries[address]

    def _record(self, address, now):
        self._evict(now, address)
        times = self._recent(address, now)
        if times is None:
            times = self._tries[address] = deque(maxlen=self.limit)
        times.append(now)
        self._tries.move_to_end(address)

    def blocked(self, address):
        """Whether `address` has used up its tries for now."""
        with self._lock:
            return self._blocked(address, self.clock())

    def record(self, address):
        """Count one try (a wrong token) for `address`."""
        with self._lock:
            self._record(address, self.clock())

    def attempt(self, address):
        """Count a try and return True, or return False (counting nothing) when blocked."""
        with self._lock:
            now = self.clock()
            if self._blocked(address, now):
                return False
            self._record(address, now)
            return True

    def retry_after(self, address):
        """Whole seconds until `address` may try again (0 when it may now)."""
        with self._lock:
            now = self.clock()
            if not self._blocked(address, now):
                return 0
            return max(1, math.ceil(self._tries[address][0] + self.window - now))

    def clear(self):
        """Forget every try."""
        with self._lock:
            self._tries.clear()

    def __len__(self):
        """How many addresses are tracked."""
        with self._lock:
            return len(self._tries)
