"""``fleet-monitor notices|reports`` and ``operators contacts|token``: notices, deliveries,
daily reports and operators' contacts from the command line.

Times default to now (UTC); ``--at`` gives another "now" (ISO 8601) for
replays and tests. Wrong input exits with code 2 having written nothing.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import click
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

EXIT_INPUT = 2


class InputError(click.ClickException):
    exit_code = EXIT_INPUT


def _settings() -> Any:
    return click.get_current_context().obj.settings


@contextmanager
def _engine() -> Iterator[Engine]:
    from fleet_monitor.database import make_engine

    engine = make_engine(_settings().database_url, pool_size=2)
    try:
        yield engine
    finally:
        engine.dispose()


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _now(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(at)
    except ValueError:
        raise InputError(f"--at: not an ISO 8601 time: {at!r}") from None
    if value.tzinfo is None:
        raise InputError("--at: give a time zone (e.g. 2026-11-02T09:00:00+01:00)")
    return value


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str, ensure_ascii=False))


# --------------------------------------------------------------------------- notices


@click.group("notices")
def notices() -> None:
    """Notices to operators: list, plan, send, check deadlines."""


@notices.command("list")
@click.option("--operator", "operator_slug", default=None)
@click.option("--status", type=click.Choice(["draft", "issued", "cancelled", "closed"]))
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def notices_list(operator_slug: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Notices, newest first, with their delivery state."""
    from fleet_monitor.notices.queries import list_notices

    with _engine() as engine, Session(engine) as s:
        rows = list_notices(s, operator=operator_slug, status=status, limit=limit)
    if as_json:
        _echo_json(rows)
        return
    for n in rows:
        click.echo(
            f"{n['reference'] or '(draft ' + str(n['id']) + ')':<20} {n['operator']:<12}"
            f" {n['status']:<9} {n['vehicles']:>3} veh  deadline {n['deadline_at'] or '-'}"
            f"  sent {n['deliveries_sent']}/{n['deliveries']}"
            f"{'  FAILED ' + str(n['deliveries_failed']) if n['deliveries_failed'] else ''}"
            f"  {n['response'] or ''} {n['outcome'] or ''}"
        )


@notices.command("plan")
@click.option("--at", default=None, help="Now (ISO 8601), default: the current time.")
@click.option("--json", "as_json", is_flag=True)
def notices_plan(at: str | None, as_json: bool) -> None:
    """Create (and in auto mode issue) the notices due now."""
    from fleet_monitor.notices.jobs import plan

    with _engine() as engine:
        result = plan(engine, _settings(), _now(at))
    if as_json:
        _echo_json(result.as_dict())
    else:
        click.echo(
            f"{len(result.created)} notices created, issued: {', '.join(result.issued) or '-'}"
        )


@notices.command("send-pending")
@click.option("--at", default=None, help="Now (ISO 8601), default: the current time.")
@click.option("--json", "as_json", is_flag=True)
def notices_send_pending(at: str | None, as_json: bool) -> None:
    """Send the due deliveries of notices (retries included), each at most once."""
    from fleet_monitor.notices.jobs import send_pending

    clock = (lambda: _now(at)) if at else (lambda: datetime.now(UTC))
    with _engine() as engine:
        summary = send_pending(engine, _settings(), clock)
    if as_json:
        _echo_json(summary.as_dict())
        return
    click.echo(
        f"{summary.sent} sent, {summary.retrying} to retry, {summary.failed} failed,"
        f" {summary.unknown} unknown"
    )
    for e in summary.errors:
        click.echo(f"  {e}", err=True)


@notices.command("check-deadlines")
@click.option("--at", default=None, help="Now (ISO 8601), default: the current time.")
@click.option("--json", "as_json", is_flag=True)
def notices_check_deadlines(at: str | None, as_json: bool) -> None:
    """Check notices past their deadline: remedied or overdue (with penalties)."""
    from fleet_monitor.notices.jobs import check

    with _engine() as engine:
        result = check(engine, _settings(), _now(at))
    if as_json:
        _echo_json(result.as_dict())
    else:
        click.echo(
            f"{result.remedied} remedied, {result.overdue} overdue"
            f" ({result.penalties_eur:.2f} EUR), {result.undetermined} undetermined,"
            f" {result.waiting} waiting; closed: {', '.join(result.closed) or '-'}"
        )


# --------------------------------------------------------------------------- operators


@click.group("contacts")
def contacts() -> None:
    """Where operators receive notices and reports."""


@contacts.command("add")
@click.argument("slug")
@click.option("--email", default=None, help="An e-mail address.")
@click.option("--webhook", default=None, help="A webhook URL (signed JSON POST).")
@click.option("--name", default="", help="Who this is (a team, a person).")
@click.option("--notices/--no-notices", default=True, show_default=True)
@click.option("--reports/--no-reports", default=True, show_default=True)
def contacts_add(
    slug: str, email: str | None, webhook: str | None, name: str, notices: bool, reports: bool
) -> None:
    """Add an e-mail address or a webhook URL to operator SLUG."""
    from fleet_monitor.notices.contacts import ContactError, add_contact
    from fleet_monitor.outbox.webhook import check_webhook_url, secret_env_name

    if (email is None) == (webhook is None):
        raise InputError("give exactly one of --email or --webhook")
    channel, address = ("email", email) if email else ("webhook", webhook)
    settings = _settings()
    try:
        with _engine() as engine, Session(engine) as s, s.begin():
            contact = add_contact(
                s,
                operator_slug=slug,
                channel=channel,
                address=address or "",
                name=name,
                notices=notices,
                reports=reports,
                actor=_actor(),
                url_check=lambda url: check_webhook_url(url, settings.notices),
            )
            cid, address = contact.id, contact.address
    except ContactError as exc:
        raise InputError(str(exc)) from None
    click.echo(f"contact {cid} added: {slug} {channel} {address}")
    if channel == "webhook":
        click.echo(f"  webhooks are signed with ${secret_env_name(slug)} (or a secrets file)")


@contacts.command("list")
@click.argument("slug", required=False)
@click.option("--all", "show_all", is_flag=True, help="Include removed contacts.")
@click.option("--json", "as_json", is_flag=True)
def contacts_list(slug: str | None, show_all: bool, as_json: bool) -> None:
    """Contacts of every operator, or of SLUG."""
    from fleet_monitor.notices.contacts import list_contacts

    with _engine() as engine, Session(engine) as s:
        rows = list_contacts(s, operator_slug=slug, active_only=not show_all)
    if as_json:
        _echo_json([dataclasses.asdict(r) for r in rows])
        return
    for r in rows:
        what = ",".join(k for k, v in (("notices", r.notices), ("reports", r.reports)) if v)
        state = "" if r.active else "  (removed)"
        click.echo(f"{r.id:>4} {r.operator_slug:<12} {r.channel:<8} {r.address}  [{what}]{state}")


@contacts.command("remove")
@click.argument("contact_id", type=int)
def contacts_remove(contact_id: int) -> None:
    """Stop sending to a contact (kept for the deliveries that name it)."""
    from fleet_monitor.notices.contacts import remove_contact

    with _engine() as engine, Session(engine) as s, s.begin():
        done = remove_contact(s, contact_id, actor=_actor())
    if not done:
        raise InputError(f"no active contact {contact_id}")
    click.echo(f"contact {contact_id} removed")


@click.group("token")
def token() -> None:
    """Operators' API tokens (acknowledge or dispute notices from their systems)."""


@token.command("create")
@click.argument("slug")
@click.option("--name", default="api", show_default=True, help="What the token is for.")
@click.option(
    "--days", default=90, show_default=True, type=click.IntRange(1, 730), help="Valid this long."
)
def token_create(slug: str, name: str, days: int) -> None:
    """Create an API token for operator SLUG; it is printed once, only its hash is kept."""
    from fleet_monitor.notices.contacts import ContactError, create_token

    try:
        with _engine() as engine, Session(engine) as s, s.begin():
            row, secret = create_token(s, slug, name=name, actor=_actor(), days=days)
            expires = row.expires_at
    except ContactError as exc:
        raise InputError(str(exc)) from None
    click.echo(secret)
    click.echo(
        f"(API token for {slug}, valid until {expires:%Y-%m-%d %H:%M} UTC:"
        " shown once, store it now)",
        err=True,
    )


@token.command("list")
@click.argument("slug", required=False)
def token_list(slug: str | None) -> None:
    """Tokens (prefixes only) with their last use."""
    from fleet_monitor.notices.contacts import list_tokens

    with _engine() as engine, Session(engine) as s:
        rows = list_tokens(s, slug)
    for t in rows:
        state = f"expires {t['expires_at']:%Y-%m-%d}"
        if t["revoked_at"]:
            state = f"revoked {t['revoked_at']:%Y-%m-%d}"
        elif t["expires_at"] <= datetime.now(UTC):  # type: ignore[operator]
            state = f"expired {t['expires_at']:%Y-%m-%d}"
        used = f"{t['last_used_at']:%Y-%m-%d %H:%M}" if t["last_used_at"] else "never"
        click.echo(f"{t['prefix']}…  {t['operator']:<12} {t['name']:<16} {state:<18} used {used}")


@token.command("revoke")
@click.argument("prefix")
def token_revoke(prefix: str) -> None:
    """Revoke the token starting with PREFIX (as shown by 'token list')."""
    from fleet_monitor.notices.contacts import revoke_token

    with _engine() as engine, Session(engine) as s, s.begin():
        n = revoke_token(s, prefix.rstrip("…"), actor=_actor(), now=datetime.now(UTC))
    if not n:
        raise InputError(f"no active token {prefix}")
    click.echo(f"token {prefix} revoked")


# --------------------------------------------------------------------------- reports


@click.group("reports")
def reports() -> None:
    """Daily compliance reports."""


@reports.command("generate")
@click.option("--day", "day_text", required=True, help="Local day, YYYY-MM-DD.")
@click.option("--send", is_flag=True, help="Also queue and send them (once per recipient).")
@click.option("--json", "as_json", is_flag=True)
def reports_generate(day_text: str, send: bool, as_json: bool) -> None:
    """Generate (or confirm, when unchanged) the reports of one day."""
    from fleet_monitor.reports import generate_day, queue_deliveries, send_pending

    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise InputError(f"--day: not a date YYYY-MM-DD: {day_text!r}") from None
    settings = _settings()
    now = datetime.now(UTC)
    out: dict[str, Any] = {}
    with _engine() as engine:
        with Session(engine) as s, s.begin():
            generated = generate_day(s, day, settings, now)
            queued = queue_deliveries(s, day, settings, now) if send else 0
        out["reports"] = [
            {
                "subject": g.subject,
                "version": g.version,
                "status": g.status,
                "content_hash": g.content_hash,
            }
            for g in generated
        ]
        if send:
            out["queued"] = queued
            out["delivery"] = send_pending(engine, settings).as_dict()
    if as_json:
        _echo_json(out)
        return
    if not generated:
        click.echo(f"no operator active on {day}: nothing to report")
    for g in out["reports"]:
        click.echo(f"{g['subject']:<12} v{g['version']} {g['status']:<11} {g['content_hash']}")
    if send:
        d = out["delivery"]
        click.echo(f"{queued} deliveries queued; {d['sent']} sent, {d['failed']} failed")


@reports.command("list")
@click.option("--day", "day_text", default=None)
def reports_list(day_text: str | None) -> None:
    """Archived reports (latest first)."""
    with _engine() as engine, engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT day, subject, version, content_hash, generated_at FROM daily_report"
                " WHERE CAST(:d AS date) IS NULL OR day = CAST(:d AS date)"
                " ORDER BY day DESC, subject, version DESC LIMIT 200"
            ),
            {"d": day_text},
        ).all()
    for r in rows:
        generated = f"{r.generated_at:%Y-%m-%d %H:%M}"
        click.echo(f"{r.day} {r.subject:<12} v{r.version} {r.content_hash[:16]}  {generated}")


def register(cli: click.Group) -> None:
    cli.add_command(notices)
    cli.add_command(reports)
    operators = cli.commands.get("operators")
    if not isinstance(operators, click.Group):
        operators = click.Group("operators", help="Operators.")
        cli.add_command(operators)
    operators.add_command(contacts)
    operators.add_command(token)
