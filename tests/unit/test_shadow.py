"""The shadow experiment: the control answers at once; the candidate is compared aside."""

import asyncio
import logging
import random

import pytest

from fruitsplit.core.diff import Mismatch
from fruitsplit.metrics import Metrics
from fruitsplit.services.shadow import Comparison, Experiment, ShadowMismatch

DIFFERENT = Mismatch(7, "different", "mismatched record for user 7: x")


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, {"experiment": "test", **labels}) or 0.0


async def control() -> list[int]:
    return [1, 2, 3]


def experiment(candidate, metrics, **options) -> Experiment[list[int]]:
    return Experiment("test", candidate, metrics=metrics, rng=random.Random(1), **options)


async def test_the_control_answers_without_waiting_for_a_slow_candidate():
    release = asyncio.Event()
    metrics = Metrics()

    async def slow_candidate(result: list[int]) -> Comparison:
        await release.wait()
        return Comparison(result, [])

    shadow = experiment(slow_candidate, metrics)
    assert await asyncio.wait_for(shadow.run(control), timeout=1.0) == [1, 2, 3]
    assert sample(metrics, "fruits_shadow_comparisons_total") == 0
    release.set()
    await shadow.settle()
    assert sample(metrics, "fruits_shadow_comparisons_total") == 1


async def test_a_failing_candidate_is_counted_and_never_raised(caplog):
    metrics = Metrics()

    async def broken(result: list[int]) -> Comparison:
        raise TimeoutError("redis timed out")

    shadow = experiment(broken, metrics)
    assert await shadow.run(control) == [1, 2, 3]
    await shadow.settle()
    assert sample(metrics, "fruits_shadow_errors_total") == 1
    assert "redis timed out" in caplog.text


async def test_a_standing_difference_is_logged_once_and_again_after_it_was_mended(caplog):
    metrics = Metrics()
    differences = [[DIFFERENT], [DIFFERENT], [], [DIFFERENT]]

    async def candidate(result: list[int]) -> Comparison:
        return Comparison([7], differences.pop(0))

    shadow = experiment(candidate, metrics)
    caplog.set_level(logging.ERROR)
    for _ in range(4):
        await shadow.run(control)
        await shadow.settle()
    assert [r.getMessage() for r in caplog.records] == [DIFFERENT.message] * 2
    assert sample(metrics, "fruits_shadow_mismatches_total", kind="different") == 3


async def test_ignore_rules_drop_known_differences():
    metrics = Metrics()

    async def candidate(result: list[int]) -> Comparison:
        return Comparison([7], [DIFFERENT])

    shadow = experiment(candidate, metrics, ignore=[lambda m: m.user_id == 7])
    await shadow.run(control)
    await shadow.settle()
    assert sample(metrics, "fruits_shadow_ignored_total") == 1
    assert sample(metrics, "fruits_shadow_mismatches_total", kind="different") == 0


async def test_sampling_runs_the_candidate_for_about_the_given_share():
    metrics = Metrics()
    runs = 0

    async def candidate(result: list[int]) -> Comparison:
        nonlocal runs
        runs += 1
        return Comparison(result, [])

    shadow = experiment(candidate, metrics, sample_percent=10.0)
    for _ in range(1000):
        await shadow.run(control)
        await shadow.settle()
    assert 60 <= runs <= 140


async def test_under_load_extra_comparisons_are_skipped_not_queued():
    metrics = Metrics()
    release = asyncio.Event()

    async def candidate(result: list[int]) -> Comparison:
        await release.wait()
        return Comparison(result, [])

    shadow = experiment(candidate, metrics, max_in_flight=2)
    for _ in range(5):
        await shadow.run(control)
    assert sample(metrics, "fruits_shadow_skipped_total") == 3
    release.set()
    await shadow.settle()


async def test_strict_mode_raises_the_difference_for_tests():
    async def candidate(result: list[int]) -> Comparison:
        return Comparison([7], [DIFFERENT])

    shadow = experiment(candidate, Metrics(), strict=True)
    with pytest.raises(ShadowMismatch, match="mismatched record for user 7"):
        await shadow.run(control)
