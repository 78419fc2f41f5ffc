"""Phases, dual writes with the outbox, and shadow reads, over real SQLite and Redis."""

import logging
import sqlite3

import pytest
import redis

from fruitsplit.core.phases import Phase
from fruitsplit.core.users import User
from fruitsplit.services.shadow import ShadowMismatch
from fruitsplit.wiring import build_monolith
from tests.support.accounts import add_user
from tests.support.monolith import fast_hasher
from tests.support.processes import free_port


@pytest.fixture
def redis_sync(empty_redis):
    with redis.Redis(port=empty_redis.port, decode_responses=True) as client:
        yield client


@pytest.fixture
async def monolith(settings):
    monolith = build_monolith(settings, hasher=fast_hasher())
    await monolith.open(run_relay=False)
    yield monolith
    await monolith.close()


@pytest.fixture
def michael(settings) -> User:
    return add_user(settings, "michael", fruit="orange")


def outbox_rows(settings):
    with sqlite3.connect(settings.db_file) as conn:
        rows = conn.execute("SELECT user_id, version, attempts FROM outbox ORDER BY id").fetchall()
    conn.close()
    return rows


def metric(monolith, name, labels=None):
    return monolith.metrics.registry.get_sample_value(name, labels or {})


async def test_legacy_phase_writes_only_sqlite(monolith, michael, redis_sync, settings):
    assert await monolith.phases.current() is Phase.LEGACY
    await monolith.fruits.choose_fruit(michael, "pear")
    assert redis_sync.keys("*") == []
    assert outbox_rows(settings) == []


async def test_dual_write_puts_the_spec_record_in_redis(monolith, michael, redis_sync, settings):
    await monolith.phases.switch(Phase.DUAL_WRITE)
    await monolith.fruits.choose_fruit(michael, "Orange")
    assert redis_sync.get(f"user:{michael.id}") == "bWljaGFlbA==:orange"
    assert outbox_rows(settings) == []
    assert metric(monolith, "fruits_phase", {"phase": "dual-write"}) == 1


async def test_a_redis_outage_never_fails_the_update_and_the_outbox_delivers_later(
    settings, michael, redis_sync
):
    unreachable = settings.model_copy(
        update={"redis_endpoint": f"127.0.0.1:{free_port()}", "redis_timeout_s": 0.2}
    )
    down = build_monolith(unreachable, hasher=fast_hasher())
    await down.open(run_relay=False)
    try:
        await down.phases.switch(Phase.DUAL_WRITE)
        assert await down.fruits.choose_fruit(michael, "banana") == "banana"
        assert await down.fruits.choose_fruit(michael, "pear") == "pear"
        assert [row[:2] for row in outbox_rows(settings)] == [(michael.id, 2), (michael.id, 3)]
        assert metric(down, "fruits_secondary_write_failures_total") >= 1
        result = await down.relay.drain()
        assert (result.delivered, result.failed) == (0, 2)
        assert [row[2] for row in outbox_rows(settings)] == [1, 1]  # kept, counted, not dropped
        assert await down.relay.refresh_gauges() == 2
    finally:
        await down.close()

    up = build_monolith(settings, hasher=fast_hasher())
    await up.open(run_relay=False)
    try:
        # Back-off keeps both entries until their next attempt; make it due now.
        with sqlite3.connect(settings.db_file) as conn:
            conn.execute("UPDATE outbox SET next_attempt_at = 0")
        conn.close()
        result = await up.relay.drain()
        assert result.delivered == 2
    finally:
        await up.close()
    assert redis_sync.get(f"user:{michael.id}") == "bWljaGFlbA==:pear"
    assert outbox_rows(settings) == []


async def test_an_older_version_never_overwrites_a_newer_one(monolith, michael, redis_sync):
    from fruitsplit.core.fruits import VersionedFruit

    newer = VersionedFruit(michael.id, "michael", "pear", 5)
    older = VersionedFruit(michael.id, "michael", "apple", 4)
    assert await monolith.records.put_versioned([newer]) == [True]
    assert await monolith.records.put_versioned([older]) == [False]
    assert redis_sync.get(f"user:{michael.id}") == "bWljaGFlbA==:pear"
    # The same version again is allowed: that is how a corrupted record is mended.
    redis_sync.set(f"user:{michael.id}", "bWFya%!@#$WFuxy:pineapple")
    assert await monolith.records.put_versioned([newer]) == [True]
    assert redis_sync.get(f"user:{michael.id}") == "bWljaGFlbA==:pear"


async def test_shadow_read_logs_a_corrupt_record_once_and_counts_every_time(
    monolith, michael, redis_sync, caplog
):
    await monolith.phases.switch(Phase.DUAL_WRITE)
    await monolith.fruits.choose_fruit(michael, "orange")
    redis_sync.set(f"user:{michael.id}", "bWFya%!@#$WFuxy:pineapple")
    caplog.set_level(logging.ERROR, logger="fruitsplit.shadow")
    for _ in range(3):
        rows = await monolith.fruits.list_fruits()
        assert [(r.username, r.fruit) for r in rows] == [("michael", "orange")]
        await monolith.shadow.settle()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].startswith("failed to decode username: illegal base64 data at input byte 5")
    assert (
        metric(
            monolith, "fruits_shadow_mismatches_total", {"experiment": "page", "kind": "corrupt"}
        )
        == 3
    )


@pytest.mark.parametrize(
    ("stored", "kind", "message"),
    [
        (None, "missing", "failed to get record for user {id}: redis: nil"),
        ("bWljaGFlbA==:orange:x", "corrupt", "invalid record"),
        ("bWljaGFlbA==:kiwi", "different", "mismatched record for user {id}: bWljaGFlbA==:kiwi"),
    ],
)
async def test_shadow_read_names_each_kind_of_difference(
    monolith, michael, redis_sync, caplog, stored, kind, message
):
    await monolith.phases.switch(Phase.DUAL_WRITE)
    if stored is not None:
        redis_sync.set(f"user:{michael.id}", stored)
    caplog.set_level(logging.ERROR, logger="fruitsplit.shadow")
    await monolith.fruits.list_fruits()
    await monolith.shadow.settle()
    (logged,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert logged.startswith(message.format(id=michael.id))
    labels = {"experiment": "page", "kind": kind}
    assert metric(monolith, "fruits_shadow_mismatches_total", labels) == 1


async def test_a_failing_shadow_read_is_counted_and_never_reaches_the_user(settings, michael):
    unreachable = settings.model_copy(
        update={"redis_endpoint": f"127.0.0.1:{free_port()}", "redis_timeout_s": 0.2}
    )
    monolith = build_monolith(unreachable, hasher=fast_hasher())
    await monolith.open(run_relay=False)
    try:
        await monolith.phases.switch(Phase.DUAL_WRITE)
        rows = await monolith.fruits.list_fruits()
        assert [r.fruit for r in rows] == ["orange"]
        await monolith.shadow.settle()
        assert metric(monolith, "fruits_shadow_errors_total", {"experiment": "page"}) == 1
    finally:
        await monolith.close()


async def test_strict_shadow_raises_on_a_difference(settings, michael):
    monolith = build_monolith(settings, hasher=fast_hasher(), strict_shadow=True)
    await monolith.open(run_relay=False)
    try:
        await monolith.phases.switch(Phase.DUAL_WRITE)
        with pytest.raises(ShadowMismatch, match="failed to get record"):
            await monolith.fruits.list_fruits()
    finally:
        await monolith.close()


async def test_a_phase_switch_reaches_another_worker_within_its_refresh(settings):
    first = build_monolith(settings, hasher=fast_hasher())
    second = build_monolith(settings, hasher=fast_hasher())
    await first.open(run_relay=False)
    await second.open(run_relay=False)
    try:
        assert await second.phases.current() is Phase.LEGACY
        assert await first.phases.switch(Phase.DUAL_WRITE) is Phase.LEGACY
        second.phases._read_at = float("-inf")  # as if a second had passed
        assert await second.phases.current() is Phase.DUAL_WRITE
    finally:
        await first.close()
        await second.close()
