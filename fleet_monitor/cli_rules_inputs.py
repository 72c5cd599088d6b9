"""What the rules' commands share: checked arguments, one transaction, output.

Every argument with a valid range is checked before anything is written; a bad
one is ``InputError``: one message naming the argument, exit code 2. Times:

* any time argument lies in 2000-2099 (``rules.limits``);
* an evaluation time (``rules run --at``, ``rules replay --to``) is never in the
  future beyond ``MAX_CLOCK_SKEW`` (``--force`` does not change that: the
  rules evaluate what was observed, and a run dated in the future would block
  every evaluation until then);
* an evaluation time (``--at``, ``--from``) is not before the first stored
  observation minus ``PAST_MARGIN`` unless ``--force`` (a replay of the past on
  purpose; with nothing observed yet, "now" stands for the first observation).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from fleet_monitor.violations.recovery import MAX_CLOCK_SKEW
from fleet_monitor.violations.references import first_observation
from rules.limits import EARLIEST, LATEST, in_time_range

EXIT_INPUT = 2
#: how far before the first stored observation an evaluation may be without --force
PAST_MARGIN = timedelta(days=1)
#: largest permit file read (a permit is a few kilobytes)
MAX_PERMIT_FILE_BYTES = 1024 * 1024


class InputError(click.ClickException):
    """Bad input: one message, exit code 2, nothing written."""

    exit_code = EXIT_INPUT


def settings() -> Any:
    return click.get_current_context().obj.settings


def configured_operators() -> list[str]:
    return [op.slug for op in settings().operators]


def warn(message: str) -> None:
    click.echo(message, err=True)


@contextmanager
def session_scope(*, write: bool) -> Iterator[Session]:
    """One transaction; committed on success (write) or rolled back (read, or an error)."""
    from fleet_monitor.database import ensure_database, make_engine, upgrade

    current = settings()
    if write:
        ensure_database(current.database_url)
        upgrade(current.database_url)
    engine = make_engine(current.database_url, pool_size=2)
    try:
        with Session(engine) as session:
            if not write:
                session.connection().exec_driver_sql("SET TRANSACTION READ ONLY")
            try:
                yield session
            except ProgrammingError as exc:
                session.rollback()
                raise click.ClickException(
                    f"database schema missing or outdated ({exc.orig}); run 'fleet-monitor db"
                    " upgrade'"
                ) from None
            if write:
                session.commit()
            else:
                session.rollback()
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- times


def parse_time(text: str, what: str, tz: ZoneInfo | None = None) -> datetime:
    """``now``, a date (midnight, city time) or an ISO 8601 time (city time if no
    offset), in 2000-2099."""
    tz = tz or ZoneInfo(settings().city.timezone)
    value = text.strip()
    try:
        if value.lower() == "now":
            return datetime.now(UTC)
        if len(value) == 10:
            d = date.fromisoformat(value)
            dt = datetime(d.year, d.month, d.day, tzinfo=tz)
        else:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            dt = dt if dt.tzinfo is not None else dt.replace(tzinfo=tz)
    except ValueError:
        raise InputError(
            f"{what}: {text!r} is not a date (2025-06-01) or a time"
            " (2025-06-01T10:00:00+02:00; without an offset, the city's local time)"
        ) from None
    if not in_time_range(dt):
        raise InputError(
            f"{what}: {text!r} is out of range ({EARLIEST.date()} to"
            f" {(LATEST - timedelta(days=1)).date()})"
        )
    return dt.astimezone(UTC)


def refuse_future(at: datetime, what: str) -> None:
    """An evaluation time is never in the future (beyond a small clock skew)."""
    now = datetime.now(UTC)
    if at > now + MAX_CLOCK_SKEW:
        raise InputError(
            f"{what}: {at.isoformat()} is in the future (now {now.isoformat(timespec='seconds')});"
            " the rules evaluate what has been observed, not what will be"
        )


def refuse_before_history(session: Session, at: datetime, what: str, *, force: bool) -> None:
    """An evaluation time is not before the first stored observation (minus a margin)
    unless ``--force``."""
    if force:
        return
    first = first_observation(session)
    floor = (first or datetime.now(UTC)) - PAST_MARGIN
    if at < floor:
        seen = (
            f"the first stored observation ({first.isoformat(timespec='seconds')})"
            if first
            else "now (nothing observed yet)"
        )
        raise InputError(
            f"{what}: {at.isoformat()} is more than {PAST_MARGIN.days} day before {seen};"
            " add --force to evaluate that far back on purpose"
        )


# --------------------------------------------------------------------------- files and output


def read_text_file(path: Path, what: str, limit: int = MAX_PERMIT_FILE_BYTES) -> str:
    size = path.stat().st_size
    if size > limit:
        raise InputError(f"{what}: {path.name} is {size:,} bytes (at most {limit:,})")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{what}: {path.name} is not UTF-8 text") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def emit(data: Any, as_json: bool, text: str) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=_json_default, ensure_ascii=False))
    else:
        click.echo(text)


def fmt(dt: datetime | None) -> str:
    return "-" if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
