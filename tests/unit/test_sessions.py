from fruitsplit.core.sessions import SessionPolicy, needs_touch

POLICY = SessionPolicy(idle_timeout_s=100.0, absolute_timeout_s=1000.0)


def test_a_session_expires_when_idle_too_long():
    assert not POLICY.is_expired(created_at=0.0, last_seen_at=0.0, now=100.0)
    assert POLICY.is_expired(created_at=0.0, last_seen_at=0.0, now=100.5)


def test_a_session_expires_at_its_absolute_limit_even_when_active():
    assert POLICY.is_expired(created_at=0.0, last_seen_at=999.0, now=1000.5)


def test_last_seen_is_written_at_most_once_a_minute():
    assert not needs_touch(last_seen_at=0.0, now=59.0)
    assert needs_touch(last_seen_at=0.0, now=60.0)
