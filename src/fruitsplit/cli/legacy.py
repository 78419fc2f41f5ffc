"""`monolith`: the original's single-dash flags, translated to the same actions as `fruits`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fruitsplit.cli import actions, migration
from fruitsplit.config import load_monolith_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monolith",
        description="The fruits monolith, with the original's command-line flags.",
    )
    # Go's flag package accepts -name and --name alike; so do we.
    parser.add_argument("-create", "--create", metavar="NAME", help="create a user")
    parser.add_argument("-password", "--password", metavar="PW", help="password for -create")
    parser.add_argument("-super", "--super", metavar="ID", type=int, help="make a super user")
    parser.add_argument("-unsuper", "--unsuper", metavar="ID", type=int, help="make a normal user")
    parser.add_argument("-serve", "--serve", action="store_true", help="run the web server")
    parser.add_argument(
        "-migrate", "--migrate", action="store_true", help="copy every fruit to Redis"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    chosen = [
        flag
        for flag, given in (
            ("-create", args.create is not None),
            ("-super", args.super is not None),
            ("-unsuper", args.unsuper is not None),
            ("-serve", args.serve),
            ("-migrate", args.migrate),
        )
        if given
    ]
    if len(chosen) != 1:
        parser.error("give exactly one of -create, -super, -unsuper, -serve, -migrate")
    if args.migrate:
        migration.migrate(migration.load_settings())
        return 0
    settings = actions.run_or_fail(load_monolith_settings)
    if args.create is not None:
        if args.password is None:
            parser.error("-create needs -password")
        user = actions.create_user(settings, args.create, args.password)
        print(f"created user {user.id} {user.username}")  # noqa: T201
    elif args.super is not None:
        actions.set_super(settings, args.super, True)
    elif args.unsuper is not None:
        actions.set_super(settings, args.unsuper, False)
    else:
        actions.serve_monolith(settings)
    return 0


def run() -> None:
    sys.exit(main())
