"""The token bucket that paces a copy, on a fake clock: no real sleeps."""

from __future__ import annotations

import pytest

from fruitsplit.migration.pacing import TokenBucket


class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def bucket(clock: FakeClock, rate: float = 10.0, capacity: float = 5.0) -> TokenBucket:
    return TokenBucket(rate, capacity=capacity, clock=clock, sleep=clock.sleep)


async def test_token_bucket_lets_a_first_burst_of_its_capacity_through_at_once() -> None:
    clock = FakeClock()
    pacer = bucket(clock)
    for _ in range(5):
        await pacer.acquire(1)
    assert clock.slept == []


async def test_token_bucket_holds_the_average_rate_after_the_burst() -> None:
    clock = FakeClock()
    pacer = bucket(clock, rate=10.0, capacity=5.0)
    for _ in range(105):
        await pacer.acquire(1)
    # 5 went at once, the other 100 at 10 per second.
    assert clock.now - 100.0 == pytest.approx(10.0)


async def test_token_bucket_refills_while_the_caller_is_busy_elsewhere() -> None:
    clock = FakeClock()
    pacer = bucket(clock, rate=10.0, capacity=5.0)
    await pacer.acquire(5)
    clock.now += 0.25  # 2.5 tokens come back
    await pacer.acquire(2)
    assert clock.slept == []
    await pacer.acquire(1)
    assert clock.slept == [pytest.approx(0.05)]


async def test_token_bucket_never_holds_more_than_its_capacity() -> None:
    clock = FakeClock()
    pacer = bucket(clock, rate=10.0, capacity=5.0)
    clock.now += 3600.0
    await pacer.acquire(5)
    await pacer.acquire(1)
    assert clock.slept == [pytest.approx(0.1)]


async def test_token_bucket_lets_a_request_above_its_capacity_through_and_repays_it_later() -> None:
    clock = FakeClock()
    pacer = bucket(clock, rate=10.0, capacity=5.0)
    await pacer.acquire(25)  # waits for nothing (the bucket is full), leaves a debt of 20
    assert clock.slept == []
    await pacer.acquire(1)
    assert clock.now - 100.0 == pytest.approx(2.1)


@pytest.mark.parametrize(("rate", "capacity"), [(0.0, 1.0), (-1.0, 1.0), (1.0, 0.0)])
def test_token_bucket_refuses_a_rate_or_capacity_that_is_not_positive(
    rate: float, capacity: float
) -> None:
    clock = FakeClock()
    with pytest.raises(ValueError, match="must be positive"):
        TokenBucket(rate, capacity=capacity, clock=clock, sleep=clock.sleep)
