"""`fruits`: the command line for operating the system."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fruitsplit.cli import actions, keys, migration, operations
from fruitsplit.cli.demo import run_demo
from fruitsplit.config import MonolithSettings, load_monolith_settings
from fruitsplit.core.phases import Phase

app = typer.Typer(
    help="Run and operate the fruits monolith and its migration to a microservice.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
serve_app = typer.Typer(help="Run a web app.", no_args_is_help=True)
user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
phase_app = typer.Typer(help="Show or switch the migration phase.")
app.add_typer(serve_app, name="serve")
app.add_typer(user_app, name="user")
app.add_typer(phase_app, name="phase")

HostOption = Annotated[str | None, typer.Option(help="Address to listen on [env: HOST].")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on [env: PORT].")]


def settings(**overrides: object) -> MonolithSettings:
    given = {name: value for name, value in overrides.items() if value is not None}
    return actions.run_or_fail(lambda: load_monolith_settings(**given))


@serve_app.command("monolith")
def serve_monolith(
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes [env: WEB_CONCURRENCY].")
    ] = None,
) -> None:
    """Serve the monolith (page, login, fruits, tokens)."""
    actions.serve_monolith(settings(host=host, port=port, workers=workers))


@serve_app.command("service")
def serve_service(
    host: HostOption = None,
    port: PortOption = None,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes [env: WEB_CONCURRENCY].")
    ] = None,
) -> None:
    """Serve the fruits microservice (JSON from Redis; writes need a token)."""
    from fruitsplit.cli import service

    service.serve_fruits_service(service.load_settings(host=host, port=port, workers=workers))


@user_app.command("create")
def user_create(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    make_super: Annotated[bool, typer.Option("--super", help="Make a super user.")] = False,
) -> None:
    """Create a user (password at least 8 characters)."""
    current = settings()
    user = actions.create_user(current, username, password)
    if make_super:
        actions.set_super(current, user.id, True)
    typer.echo(f"created user {user.id} {user.username}{' (super)' if make_super else ''}")


@user_app.command("super")
def user_super(user_id: int) -> None:
    """Let a user choose the special fruits."""
    actions.set_super(settings(), user_id, True)
    typer.echo(f"user {user_id} is now a super user")


@user_app.command("unsuper")
def user_unsuper(user_id: int) -> None:
    """Take the special fruits away from a user."""
    actions.set_super(settings(), user_id, False)
    typer.echo(f"user {user_id} is no longer a super user")


@user_app.command("list")
def user_list() -> None:
    """List every user."""
    for user in actions.list_users(settings()):
        role = "super" if user.is_super else "normal"
        typer.echo(f"{user.id}\t{user.username}\t{role}")


@phase_app.callback(invoke_without_command=True)
def phase_show(context: typer.Context) -> None:
    """Show the phase in force and the writes still waiting for Redis."""
    if context.invoked_subcommand is not None:
        return
    status = operations.show_phase(settings())
    typer.echo(f"phase: {status.phase}")
    typer.echo(f"outbox: {status.outbox.depth} waiting, {status.outbox.failing} failing")


@phase_app.command("set")
def phase_set(
    phase: Annotated[Phase, typer.Argument(help="The phase to switch to.")],
    force: Annotated[bool, typer.Option(help="Switch even though the stores differ.")] = False,
) -> None:
    """Switch every running worker to PHASE (within about a second).

    Moving into, out of or between the phases after cut-over first checks that
    both stores agree, and refuses if they do not.
    """
    previous = operations.switch_phase(settings(), phase, force=force)
    typer.echo(f"phase: {previous} -> {phase}")


@app.command()
def sync(
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.", min=0)] = 30.0,
) -> None:
    """Deliver the writes waiting in the outbox to Redis now."""
    stats = operations.drain_outbox(settings(), timeout_s=timeout)
    if stats.depth:
        actions.fail(f"{stats.depth} writes still waiting for Redis after {timeout:g} s")
    typer.echo("outbox empty: Redis has every write")


@app.command()
def keygen(
    out: Annotated[
        Path, typer.Option(help="Private key file; the public half goes to OUT.pub.")
    ] = Path("server.pem"),
    force: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
    rotate: Annotated[
        bool, typer.Option(help="Sign with a new key from now on; keep trusting the old one.")
    ] = False,
    retire: Annotated[
        bool, typer.Option(help="Stop trusting every key but the current one.")
    ] = False,
) -> None:
    """Create an ES512 (P-521) signing key, as openssl ecparam -name secp521r1 would."""
    if rotate and retire:
        actions.fail("choose one of --rotate and --retire")
    if rotate:
        old_kid, new_kid = actions.run_or_fail(lambda: keys.rotate_key(out))
        typer.echo(f"signing with {new_kid}; {old_kid} is still trusted until retired")
    elif retire:
        retired = actions.run_or_fail(lambda: keys.retire_keys(out))
        typer.echo(f"retired {', '.join(retired)}" if retired else "no older key to retire")
    else:
        public_path = actions.run_or_fail(lambda: keys.write_key_pair(out, force=force))
        typer.echo(f"wrote {out} and {public_path}")


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the demo keeps its key and database.")
    ] = Path(".fruits-demo"),
    host: HostOption = None,
    port: PortOption = None,
    service_port: Annotated[int, typer.Option(help="Port of the fruits service.")] = 8081,
) -> None:
    """Run the whole system on embedded defaults (Redis, fruits service, monolith)."""
    run_demo(directory, host=host, port=port, service_port=service_port)


# --- the copy to Redis and the verifier (cli/migration.py) -----------------------------


@app.command()
def migrate(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Fruits read and written per page.")
    ] = migration.DEFAULT_BATCH_SIZE,
    max_rate: Annotated[
        float | None,
        typer.Option(
            min=0.001, help="At most this many records per second (gentle beside traffic)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would change; write nothing.")
    ] = False,
    restart: Annotated[
        bool, typer.Option("--restart", help="Start over instead of resuming an interrupted copy.")
    ] = False,
) -> None:
    """Copy every fruit from SQLite to Redis; resumes an interrupted copy by itself."""
    migration.migrate(
        migration.load_settings(),
        batch_size=batch_size,
        max_rate=max_rate,
        dry_run=dry_run,
        restart=restart,
    )


@app.command()
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help=(
                "Mend every difference from the phase's source of truth"
                " (SQLite until cut-over, Redis after)."
            ),
        ),
    ] = False,
    examples: Annotated[
        int, typer.Option(min=0, help="Examples shown per kind of difference.")
    ] = migration.DEFAULT_EXAMPLES,
) -> None:
    """Compare SQLite and Redis both ways; exit 0 if consistent, 1 if not, 2 on errors."""
    migration.verify(migration.load_settings(), as_json=as_json, repair=repair, examples=examples)


def run() -> None:
    app()
