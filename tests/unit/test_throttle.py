from fruitsplit.core.throttle import ThrottleRule

RULE = ThrottleRule(max_failures=3, window_s=60.0)


def test_attempts_are_allowed_below_the_limit():
    assert RULE.retry_after_s([10.0, 20.0], now=30.0) == 0


def test_at_the_limit_the_wait_lasts_until_the_oldest_counted_failure_leaves_the_window():
    assert RULE.retry_after_s([10.0, 20.0, 30.0], now=31.0) == 39


def test_failures_outside_the_window_do_not_count():
    assert RULE.retry_after_s([0.0, 20.0, 30.0], now=61.0) == 0


def test_the_wait_is_never_zero_once_limited():
    assert RULE.retry_after_s([10.0, 20.0, 30.0], now=69.99) == 1
