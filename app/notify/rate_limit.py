"""A token bucket in SMS segments per second, shared by the sending threads of one process."""
from __future__ import annotations

import threading
import time


class SegmentRateLimiter:
    def __init__(self, segments_per_second: float, burst: float | None = None) -> None:
        self.rate = segments_per_second
        self.capacity = burst or max(1.0, segments_per_second)
        self._tokens = self.capacity
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self, segments: int) -> None:
        if self.rate <= 0:
            return  # no limit configured
        need = min(float(segments), self.capacity)
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
                self._last = now
                if self._tokens >= need:
                    self._tokens -= need
                    return
                wait = (need - self._tokens) / self.rate
            time.sleep(wait)
