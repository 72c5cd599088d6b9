"""``fleet-monitor retention``: apply the retention of personal data now.

The scheduler does it every ``retention.every_s`` (daily); this command runs the
same policy by hand (``--now`` to see what a later run would do, ``--dry-run``
to count without erasing). See :mod:`fleet_monitor.retention`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from fleet_monitor.cli_rules_inputs import InputError, settings


def _parse_now(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"--now: {value!r} is not an ISO time (2026-11-01T06:00+01:00)") from None
    if at.tzinfo is None:
        raise InputError("--now: give the time with its UTC offset (or Z)")
    return at.astimezone(UTC)


def register(cli: click.Group) -> None:
    @cli.command("retention")
    @click.option("--now", "now", default=None, help="Apply the policy as of this time.")
    @click.option("--dry-run", is_flag=True, help="Count what would be erased; erase nothing.")
    @click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
    def retention_cmd(now: str | None, dry_run: bool, as_json: bool) -> None:
        """Erase expired case photos and residents' contacts ([retention] settings)."""
        from fleet_monitor.database import make_engine
        from fleet_monitor.retention import apply_personal_data_retention

        at = _parse_now(now)
        current = settings()
        engine = make_engine(current.database_url, pool_size=2)
        try:
            with engine.begin() as conn:
                outcome = apply_personal_data_retention(
                    conn, current.retention, at, dry_run=dry_run, via="cli"
                )
        finally:
            engine.dispose()
        if as_json:
            click.echo(json.dumps(outcome.as_dict(), indent=2))
            return
        verb = "would be erased" if dry_run else "erased"
        click.echo(
            f"case photos: {outcome.case_photos_erased} {verb} (cases closed before"
            f" {outcome.case_photo_limit:%Y-%m-%d %H:%M} UTC),"
            f" {outcome.case_photos_held} older ones kept while their case, notice or"
            " dispute is open"
        )
        click.echo(
            f"residents' reports: contact and photo {verb} from"
            f" {outcome.resident_reports_erased} reports (closed before"
            f" {outcome.resident_report_limit:%Y-%m-%d %H:%M} UTC)"
        )
