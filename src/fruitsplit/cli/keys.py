"""Signing keys from the command line: create one, rotate to a new one, retire old ones."""

from __future__ import annotations

from pathlib import Path

from fruitsplit.adapters.signing import (
    generate_private_key,
    load_private_key_file,
    load_public_key_file,
    private_key_pem,
    public_key_path,
    public_key_pem,
    thumbprint,
    unique_keys,
    write_atomically,
)
from fruitsplit.config import ConfigError


def write_key_pair(path: Path, *, force: bool = False) -> Path:
    """Write a new P-521 key to `path` (mode 0600) and its public half to `path`.pub."""
    public_path = public_key_path(path)
    if not force and (path.exists() or public_path.exists()):
        raise ConfigError(f"{path} already exists; pass --force to replace it")
    key = generate_private_key()
    write_atomically(path, private_key_pem(key), mode=0o600)
    write_atomically(public_path, public_key_pem(key.public_key()))
    return public_path


def rotate_key(path: Path) -> tuple[str, str]:
    """Make a new signing key; keep trusting the previous ones. Returns (old kid, new kid).

    The public file is written first, so anything that reloads it between the two
    writes already knows the new key before a token is signed with it. Running
    monoliths pick both files up within a second; tokens signed with the old key
    keep verifying (it stays published) until `retire_keys`.
    """
    old = load_private_key_file(path)
    public_path = public_key_path(path)
    trusted = load_public_key_file(public_path) if public_path.exists() else []
    new = generate_private_key()
    published = unique_keys([new.public_key(), old.public_key(), *trusted])
    write_atomically(public_path, b"".join(public_key_pem(key) for key in published))
    write_atomically(path, private_key_pem(new), mode=0o600)
    return thumbprint(old.public_key()), thumbprint(new.public_key())


def retire_keys(path: Path) -> list[str]:
    """Stop trusting every key but the current one; return the kids retired.

    Wait until the tokens they signed have expired (TOKEN_LIFETIME) first.
    """
    current = load_private_key_file(path).public_key()
    public_path = public_key_path(path)
    trusted = load_public_key_file(public_path) if public_path.exists() else []
    write_atomically(public_path, public_key_pem(current))
    return [
        thumbprint(key) for key in unique_keys(trusted) if thumbprint(key) != thumbprint(current)
    ]
