from fruitsplit.core.passwords import is_legacy_hash, legacy_password_hash, matches_legacy_hash


def test_legacy_hash_is_urlsafe_padded_base64_of_sha256_with_the_static_salt():
    # base64url(sha256("password123" + "monolith")), computed independently with coreutils:
    # printf 'password123monolith' | sha256sum | xxd -r -p | base64 | tr '+/' '-_'
    assert legacy_password_hash("password123") == "UO4WHyp49Dd3ptakL4na8PVmXTIDmhQGAgZfGBmVI7g="


def test_legacy_hashes_are_told_apart_from_argon2():
    assert is_legacy_hash(legacy_password_hash("x"))
    assert not is_legacy_hash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA")


def test_a_legacy_hash_matches_only_its_password():
    stored = legacy_password_hash("password123")
    assert matches_legacy_hash("password123", stored)
    assert not matches_legacy_hash("password124", stored)
