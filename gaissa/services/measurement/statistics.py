"""Summary statistics of a measurement's samples. Pure functions of plain numbers."""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Return the percentile by linear interpolation between closest ranks.

    This is numpy's default ("linear") method and Excel's PERCENTILE.INC: for n values the
    percentile p sits at rank (n − 1) × p, counted from 0.
    """
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = (len(sorted_values) - 1) * fraction
    lower = math.floor(rank)
    upper = min(lower + 1, len(sorted_values) - 1)
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * (rank - lower)


@dataclass(frozen=True)
class LatencyStats:
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float

    @classmethod
    def of(cls, latencies_ms: Iterable[float]) -> "LatencyStats":
        values = sorted(latencies_ms)
        return cls(
            mean_ms=math.fsum(values) / len(values),
            p50_ms=percentile(values, 0.50),
            p95_ms=percentile(values, 0.95),
            p99_ms=percentile(values, 0.99),
            min_ms=values[0],
            max_ms=values[-1],
        )


@dataclass(frozen=True)
class SizeStats:
    mean_bytes: float
    min_bytes: int
    max_bytes: int
    total_bytes: int

    @classmethod
    def of(cls, sizes: Iterable[int]) -> "SizeStats":
        values = list(sizes)
        total = sum(values)
        return cls(mean_bytes=total / len(values), min_bytes=min(values), max_bytes=max(values), total_bytes=total)


def busy_time(intervals: Iterable[tuple[float, float]]) -> float:
    """Return the length of the union of (start, end) intervals: the time with at least one request in flight."""
    total = 0.0
    current_start: float | None = None
    current_end = 0.0
    for start, end in sorted(intervals):
        if current_start is None or start > current_end:
            if current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_start is not None:
        total += current_end - current_start
    return total


def count_errors(messages: Iterable[str]) -> list[tuple[str, int]]:
    """Return each distinct error message with its count, most frequent first."""
    return Counter(messages).most_common()
