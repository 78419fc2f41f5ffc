"""Shadow reads as a small experiment: the control answers, the candidate is compared aside.

Modelled on GitHub's Scientist, without its best-known cost: the candidate runs
in a background task after the control has answered, so the user never waits
for it. A slow or failing candidate is counted and logged, never raised into
the request (unless `strict`, which tests use to turn a mismatch into an error).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from fruitsplit.core.diff import Mismatch
from fruitsplit.metrics import Metrics

T = TypeVar("T")

log = logging.getLogger("fruitsplit.shadow")


@dataclass(frozen=True, slots=True)
class Comparison:
    """What one candidate run compared, and what differed."""

    compared_ids: Sequence[int]
    mismatches: Sequence[Mismatch]


class ShadowMismatch(AssertionError):
    """Raised in strict mode only."""

    def __init__(self, mismatches: Sequence[Mismatch]) -> None:
        super().__init__("; ".join(m.message for m in mismatches))
        self.mismatches = mismatches


IgnoreRule = Callable[[Mismatch], bool]


class Experiment(Generic[T]):
    def __init__(
        self,
        name: str,
        candidate: Callable[[T], Awaitable[Comparison]],
        *,
        metrics: Metrics,
        sample_percent: float = 100.0,
        ignore: Iterable[IgnoreRule] = (),
        strict: bool = False,
        max_in_flight: int = 4,
        remember: int = 100_000,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self._candidate = candidate
        self._metrics = metrics
        self._sample_percent = sample_percent
        self._ignore = tuple(ignore)
        self._strict = strict
        self._max_in_flight = max_in_flight
        self._remember = remember
        self._rng = rng or random.Random()
        self._in_flight: set[asyncio.Task[list[Mismatch]]] = set()
        # The last message logged per user: a standing difference is logged once,
        # again only when it changes or comes back after being mended.
        self._reported: OrderedDict[int, str] = OrderedDict()

    async def run(self, control: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        result = await control()
        self._metrics.shadow_duration.labels(self.name, "control").observe(
            time.perf_counter() - started
        )
        if self._rng.uniform(0.0, 100.0) >= self._sample_percent:
            return result
        if self._strict:
            mismatches = await self._compare(result)
            if mismatches:
                raise ShadowMismatch(mismatches)
            return result
        if len(self._in_flight) >= self._max_in_flight:
            # Under load, comparing every request would only pile up work.
            self._metrics.shadow_skipped.labels(self.name).inc()
            return result
        task = asyncio.create_task(self._compare(result), name=f"shadow-{self.name}")
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return result

    async def settle(self) -> None:
        """Wait for the comparisons under way (tests, and shutdown)."""
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def close(self) -> None:
        for task in self._in_flight:
            task.cancel()
        await self.settle()

    async def _compare(self, result: T) -> list[Mismatch]:
        started = time.perf_counter()
        try:
            comparison = await self._candidate(result)
        except Exception as error:  # a shadow read must never fail the request
            self._metrics.shadow_errors.labels(self.name).inc()
            log.warning("shadow read %s failed: %s", self.name, error or type(error).__name__)
            return []
        finally:
            self._metrics.shadow_duration.labels(self.name, "candidate").observe(
                time.perf_counter() - started
            )
        self._metrics.shadow_comparisons.labels(self.name).inc()
        mismatched = {mismatch.user_id for mismatch in comparison.mismatches}
        for user_id in comparison.compared_ids:
            if user_id not in mismatched:
                self._reported.pop(user_id, None)
        counted = []
        for mismatch in comparison.mismatches:
            if any(rule(mismatch) for rule in self._ignore):
                self._metrics.shadow_ignored.labels(self.name).inc()
                continue
            counted.append(mismatch)
            self._metrics.shadow_mismatches.labels(self.name, mismatch.kind).inc()
            self._report_once(mismatch)
        return counted

    def _report_once(self, mismatch: Mismatch) -> None:
        if self._reported.get(mismatch.user_id) == mismatch.message:
            self._reported.move_to_end(mismatch.user_id)
            return
        log.error("%s", mismatch.message)
        self._reported[mismatch.user_id] = mismatch.message
        self._reported.move_to_end(mismatch.user_id)
        while len(self._reported) > self._remember:
            self._reported.popitem(last=False)
