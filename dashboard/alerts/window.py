"""A sliding window over one alert instance's samples: avg, min, max or last, each O(1)
amortized per sample (a running sum; monotonic deques for the extremes). Nulls are gaps:
they never enter the window."""

from __future__ import annotations

from collections import deque


class Window:
    """The samples of the last ``width`` seconds (data time) and their aggregate."""

    def __init__(self, width: float, aggregate: str) -> None:
        self.width, self.aggregate = width, aggregate
        self._samples: deque[tuple[float, float]] = deque()
        self._sum = 0.0
        self._min: deque[tuple[float, float]] = deque()  # increasing values
        self._max: deque[tuple[float, float]] = deque()  # decreasing values

    def add(self, ts: float, value: float | None) -> None:
        if value is None:
            self._evict(ts)
            return
        if self._samples and ts < self._samples[-1][0]:
            return  # older than what the window holds: a re-sent sample, already counted
        self._samples.append((ts, value))
        self._sum += value
        while self._min and self._min[-1][1] >= value:
            self._min.pop()
        self._min.append((ts, value))
        while self._max and self._max[-1][1] <= value:
            self._max.pop()
        self._max.append((ts, value))
        self._evict(ts)

    def _evict(self, now: float) -> None:
        start = now - self.width
        samples = self._samples
        while samples and samples[0][0] <= start:
            _ts, value = samples.popleft()
            self._sum -= value
        if not samples:
            self._sum = 0.0  # no drift carried into the next run of samples
        while self._min and self._min[0][0] <= start:
            self._min.popleft()
        while self._max and self._max[0][0] <= start:
            self._max.popleft()

    def value(self) -> float | None:
        """The aggregate over what the window holds; None when it holds nothing."""
        if not self._samples:
            return None
        if self.aggregate == "last":
            return self._samples[-1][1]
        if self.aggregate == "min":
            return self._min[0][1]
        if self.aggregate == "max":
            return self._max[0][1]
        return self._sum / len(self._samples)

    def __len__(self) -> int:
        return len(self._samples)
