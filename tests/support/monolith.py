"""Building a monolith for tests: its own database, key and a fast password hasher."""

from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher

from fruitsplit.adapters.argon2_hasher import Argon2Hasher
from fruitsplit.config import MonolithSettings, load_monolith_settings


def fast_hasher() -> Argon2Hasher:
    # Real Argon2id with small costs: the same code paths, a hundredth of the time.
    return Argon2Hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def monolith_settings(tmp_path: Path, key_file: Path, **overrides: object) -> MonolithSettings:
    return load_monolith_settings(
        db_file=tmp_path / "monolith.db", private_key_file=key_file, **overrides
    )
