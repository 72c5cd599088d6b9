"""The ``fleet-monitor`` command line."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from fleet_monitor.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2
#: A bad argument or a source with nothing usable: one message, nothing written.
EXIT_BAD_INPUT = 2
EXIT_DATABASE = 3


class Context:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


@click.group()
@click.option(
    "--config",
    "config_path",
    envvar="FLEET_CONFIG",
    default=None,
    help="Config file (default: ./config.toml, or $FLEET_CONFIG).",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """Oversight of free-floating bikes and scooters from their GBFS feeds."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # httpcore's debug trace prints servers' raw headers (a Location with user:password@)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = Context(config_path)


# --------------------------------------------------------------------------- config / db


@cli.group()
def config() -> None:
    """Configuration."""


@config.command("check")
@pass_ctx
def config_check(ctx: Context) -> None:
    """Load and validate the configuration."""
    s = ctx.settings
    click.echo(f"config OK ({s.source}): {len(s.operators)} operators, city {s.city.name}")


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads")
@click.option("--create/--no-create", default=True, help="Create the database if missing.")
@pass_ctx
def db_upgrade(ctx: Context, revision: str, create: bool) -> None:
    """Create or migrate the schema (PostGIS extension included)."""
    from fleet_monitor.database import ensure_database, upgrade

    url = ctx.settings.database_url
    if create and ensure_database(url):
        click.echo("database created")
    upgrade(url, revision)
    click.echo(f"schema at {revision}")


# --------------------------------------------------------------------------- ingest


@cli.command("ingest")
@click.argument("source")
@click.option(
    "--operator",
    "operator_slug",
    default=None,
    help="Operator slug (configured, or created for local files).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@pass_ctx
def ingest(ctx: Context, source: str, operator_slug: str | None, as_json: bool) -> None:
    """Ingest once from a discovery URL, a folder of feed files or one feed file.

    Exit codes: 0 something was stored; 2 a bad argument or a source with
    nothing usable (one message, nothing written); 1 the source was usable but
    no file could be stored (each failure is on record).
    """
    import psycopg

    from fleet_monitor.ingest_once import IngestInputError, ingest_source

    try:
        summary = ingest_source(ctx.settings, source, operator_slug)
    except IngestInputError as exc:
        click.echo(f"fleet-monitor: ingest: {exc}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    except psycopg.OperationalError as exc:  # creating the database (sqlalchemy's: main())
        click.echo(f"fleet-monitor: database unreachable: {exc}", err=True)
        sys.exit(EXIT_DATABASE)
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        unplaced = summary.get("vehicles_without_position") or 0
        without = f" ({unplaced} without a position: in no zone count)" if unplaced else ""
        click.echo(
            f"{summary['operator']}: GBFS {summary.get('version') or '?'}, "
            f"{summary['vehicles_stored']} vehicles{without} and {summary['stations_stored']}"
            f" stations stored from {summary['files_ok']}/{summary['files']} files"
        )
        for w in summary["warnings"][:20]:
            click.echo(f"  warning: {w}")
        for line in summary.get("ignored", []):
            click.echo(f"  not ingested: {line}")
        for e in summary["errors"]:
            click.echo(f"  error: {e}", err=True)
    if summary["files_ok"] == 0:
        sys.exit(1)


@cli.group()
def operators() -> None:
    """Operators and their feeds."""


@operators.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def operators_list(ctx: Context, as_json: bool) -> None:
    """Configured operators with the health of their feeds."""
    from fleet_monitor.health import operators_health

    rows = operators_health(ctx.settings)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for op in rows:
        click.echo(
            f"{op['slug']:<16} {op['name']:<24} GBFS {op['version'] or '?':<5} "
            f"{'configured' if op['configured'] else 'files only'}"
        )
        for f in op["feeds"]:
            outage = f" OUTAGE({f['outage']})" if f["outage"] else ""
            click.echo(
                f"    {f['feed_type']:<22} last {f['last_outcome'] or '-':<12} "
                f"ok {f['last_success_at'] or '-'} avail24h {f['availability_24h']}{outage}"
            )


@cli.command("scheduler")
@pass_ctx
def scheduler(ctx: Context) -> None:
    """Run the ingest scheduler in the foreground (SIGTERM/Ctrl-C stop it cleanly)."""
    from fleet_monitor.scheduler import run_scheduler

    run_scheduler(ctx.settings)


@cli.command("demo")
@click.option("--port", default=8000, show_default=True, help="Port of the web map (0 = any).")
@click.option(
    "--speed", default=60.0, show_default=True, help="Simulated seconds per wall-clock second."
)
@click.option("--vehicles", default=1500, show_default=True, help="Vehicles across operators.")
@click.option("--seed", default=1, show_default=True)
@click.option("--poll-seconds", default=5, show_default=True, help="Wall seconds between polls.")
@click.option(
    "--database-url",
    default=None,
    help="Demo database (default: fleet_monitor_demo on the configured server).",
)
@pass_ctx
def demo(
    ctx: Context,
    port: int,
    speed: float,
    vehicles: int,
    seed: int,
    poll_seconds: int,
    database_url: str | None,
) -> None:
    """Run the demo city: simulated operators, the ingest scheduler and the web map."""
    from fleet_monitor.demo import run_demo

    def ready(info: dict[str, Any]) -> None:
        click.echo("")
        click.echo(f"Demo city running (simulated time x{info['speed']:g}).")
        click.echo(f"  map:        {info['map_url']}")
        click.echo(
            f"  simulator:  {info['simulator_url']} (admin token {info['simulator_admin_token']})"
        )
        click.echo(f"  database:   {info['database']}")
        for acc in info["accounts"]:
            click.echo(f"  account:    {acc['email']} / {acc['password']} ({acc['role']})")
        if info.get("mail_url"):
            click.echo(f"  mail sent:  {info['mail_url']} (SMTP {info['smtp']})")
            click.echo(f"  contacts:   {', '.join(info['contacts'])}")
        events = info.get("events") or []
        if events:
            click.echo("Scripted events (simulated time, wall-clock time):")
        for e in events:
            click.echo(
                f"  {e['sim_time']}  {e['wall_time']}  {e['name']} ({e['kind']}, {e['operator']})"
            )
        click.echo("Press Ctrl-C to stop.", nl=True)

    run_demo(
        ctx.settings,
        database_url=database_url,
        port=port,
        speed=speed,
        vehicles=vehicles,
        seed=seed,
        poll_s=poll_seconds,
        ready=ready,
    )
    click.echo("demo stopped")


def _register_extensions() -> None:
    """Command groups that live in their own modules (rules, violations, zones, ...)."""
    import importlib

    names: tuple[str, ...] = (
        "fleet_monitor.cli_rules",
        "fleet_monitor.cli_notices",
        "fleet_monitor.cli_stats",
        "fleet_monitor.cli_pack",  # a command of the stats group: after cli_stats
        "fleet_monitor.cli_retention",
    )
    for name in (*names, "fleet_monitor.cli_mds", "fleet_monitor.cli_addresses"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(cli)


_register_extensions()


# --------------------------------------------------------------------------- users


@cli.group()
def users() -> None:
    """Accounts of the web application."""


def _read_password(confirm: bool = True) -> str:
    """The password from a hidden prompt on a terminal, else the first line of stdin."""
    if sys.stdin.isatty():
        value: str = click.prompt(
            "Password", hide_input=True, confirmation_prompt=confirm, err=True
        )
        return value
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    if not password:
        raise click.ClickException("no password on stdin")
    return password


def _account_session(ctx: Context):
    from sqlalchemy.orm import Session

    from fleet_monitor.database import make_engine

    engine = make_engine(ctx.settings.database_url, pool_size=1)
    return engine, Session(engine)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "?"


@users.command("add")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["officer", "supervisor", "admin", "operator"]),
    help="officer, supervisor, admin, or operator (staff of one operator).",
)
@click.option("--operator", "operator_slug", default=None, help="Operator slug (role operator).")
@pass_ctx
def users_add(ctx: Context, email: str, role: str, operator_slug: str | None) -> None:
    """Create an account; the password is asked for (or read from stdin), never an argument."""
    from fleet_monitor.users import AccountError, create_user

    password = _read_password()
    engine, session = _account_session(ctx)
    try:
        with session, session.begin():
            user = create_user(
                session,
                email=email,
                password=password,
                role=role,
                operator_slug=operator_slug,
                via=f"cli:{_os_user()}",
            )
            created = user.email
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"account {created} created ({role}{f', {operator_slug}' if operator_slug else ''})")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def users_list(ctx: Context, as_json: bool) -> None:
    """Every account, active first."""
    from fleet_monitor.users import list_users

    engine, session = _account_session(ctx)
    try:
        with session:
            rows = list_users(session)
    finally:
        engine.dispose()
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "email": u.email,
                        "role": u.role,
                        "operator": u.operator_slug,
                        "active": u.active,
                        "created_at": u.created_at.isoformat(),
                        "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
                    }
                    for u in rows
                ],
                indent=2,
            )
        )
        return
    for u in rows:
        last = u.last_login_at.isoformat(timespec="minutes") if u.last_login_at else "never"
        click.echo(
            f"{u.email:<40} {u.role:<10} {u.operator_slug or '-':<16} "
            f"{'active' if u.active else 'DISABLED':<8} last login {last}"
        )


def _set_account(ctx: Context, email: str, active: bool) -> None:
    from fleet_monitor.users import AccountError, get_user, set_active

    engine, session = _account_session(ctx)
    try:
        with session, session.begin():
            user = get_user(session, email)
            if user is None:
                raise click.ClickException(f"no account {email}")
            changed = set_active(session, user, active, via=f"cli:{_os_user()}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    state = "enabled" if active else "disabled"
    click.echo(f"account {email} {state}" if changed else f"account {email} was already {state}")


@users.command("disable")
@click.argument("email")
@pass_ctx
def users_disable(ctx: Context, email: str) -> None:
    """Disable an account and end its sessions (accounts are never deleted)."""
    _set_account(ctx, email, False)


@users.command("enable")
@click.argument("email")
@pass_ctx
def users_enable(ctx: Context, email: str) -> None:
    """Enable a disabled account again."""
    _set_account(ctx, email, True)


@users.command("password")
@click.argument("email")
@pass_ctx
def users_password(ctx: Context, email: str) -> None:
    """Set a new password (asked for, or read from stdin) and end the account's sessions."""
    from fleet_monitor.users import AccountError, get_user, set_password

    password = _read_password()
    engine, session = _account_session(ctx)
    try:
        with session, session.begin():
            user = get_user(session, email)
            if user is None:
                raise click.ClickException(f"no account {email}")
            set_password(session, user, password, via=f"cli:{_os_user()}")
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    click.echo(f"password of {email} changed")


@users.command("reset-2fa")
@click.argument("email")
@pass_ctx
def users_reset_2fa(ctx: Context, email: str) -> None:
    """Remove an account's two-factor sign-in (lost phone) and end its sessions."""
    from fleet_monitor import two_factor
    from fleet_monitor.users import get_user

    engine, session = _account_session(ctx)
    try:
        with session, session.begin():
            user = get_user(session, email)
            if user is None:
                raise click.ClickException(f"no account {email}")
            done = two_factor.reset(session, user, actor=None, ip=None, via=f"cli:{_os_user()}")
    finally:
        engine.dispose()
    if done:
        click.echo(f"two-factor sign-in of {email} reset: it is set up again at the next sign-in")
    else:
        click.echo(f"account {email} had no two-factor sign-in")


def main(argv: list[str] | None = None) -> Any:
    from fleet_monitor.runtime import tune_gc

    tune_gc()
    try:
        return cli.main(args=argv, prog_name="fleet-monitor", standalone_mode=False)
    except ConfigError as exc:
        click.echo(f"fleet-monitor: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OperationalError as exc:
        click.echo(f"fleet-monitor: database unreachable: {exc.orig}", err=True)
        sys.exit(EXIT_DATABASE)


if __name__ == "__main__":  # pragma: no cover
    main()
