"""The migration phase in force, shared by every worker and switchable while they run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from fruitsplit.core.phases import DEFAULT_PHASE, Phase
from fruitsplit.metrics import Metrics

PHASE_SETTING = "phase"

log = logging.getLogger("fruitsplit.phase")


class SettingStore(Protocol):
    async def fetch(self, key: str) -> str | None: ...
    async def store(self, key: str, value: str, now: float) -> None: ...


class PhaseControl:
    """Reads the phase at most once per `refresh_s`, so a switch reaches every worker quickly
    without a database read on every request."""

    def __init__(
        self,
        store: SettingStore,
        clock: Callable[[], float],
        metrics: Metrics,
        *,
        refresh_s: float = 1.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._metrics = metrics
        self._refresh_s = refresh_s
        self._phase: Phase | None = None
        self._read_at = float("-inf")

    async def current(self) -> Phase:
        now = self._clock()
        if self._phase is None or now - self._read_at >= self._refresh_s:
            self._show(await self._load())
            self._read_at = now
        assert self._phase is not None
        return self._phase

    async def switch(self, phase: Phase) -> Phase:
        """Make `phase` the one in force for every worker; return the previous one."""
        previous = await self._load()
        await self._store.store(PHASE_SETTING, phase.value, self._clock())
        self._show(phase)
        self._read_at = self._clock()
        return previous

    async def _load(self) -> Phase:
        stored = await self._store.fetch(PHASE_SETTING)
        try:
            return Phase(stored) if stored is not None else DEFAULT_PHASE
        except ValueError:
            log.error("unknown phase %r in the database; staying in %s", stored, DEFAULT_PHASE)
            return DEFAULT_PHASE

    def _show(self, phase: Phase) -> None:
        if phase is not self._phase:
            if self._phase is None:
                log.info("migration phase: %s", phase)
            else:
                log.warning("migration phase changed: %s -> %s", self._phase, phase)
            self._phase = phase
            self._metrics.show_phase(phase)
