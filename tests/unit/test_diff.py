from fruitsplit.core.diff import compare, extra
from fruitsplit.core.outbox import MAX_RETRY_DELAY_S, retry_delay_s


def test_an_equal_record_is_no_difference():
    assert compare(1, "michael", "orange", "bWljaGFlbA==:orange") is None


def test_each_difference_is_named_in_the_originals_words():
    assert compare(1, "michael", "orange", None).message == (
        "failed to get record for user 1: redis: nil"
    )
    assert compare(3, "marian", "pineapple", "bWFya%!@#$WFuxy:pineapple").message.startswith(
        "failed to decode username: illegal base64 data at input byte 5"
    )
    assert compare(1, "michael", "orange", "a:b:c").message.startswith("invalid record")
    assert compare(1, "michael", "orange", "bWljaGFlbA==:kiwi").message == (
        "mismatched record for user 1: bWljaGFlbA==:kiwi"
    )
    assert compare(1, "michael", "orange", "bWljaGFlbA==:kiwi").kind == "different"
    assert extra(9, "eA==:apple").kind == "extra"


def test_a_renamed_user_is_a_difference_too():
    assert compare(1, "michael2", "orange", "bWljaGFlbA==:orange").kind == "different"


def test_outbox_retries_back_off_exponentially_up_to_a_cap():
    delays = [retry_delay_s(attempts) for attempts in range(10)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert delays == sorted(delays)
    assert retry_delay_s(10_000) == MAX_RETRY_DELAY_S
