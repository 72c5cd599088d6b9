"""``fleet-monitor stats ...``: aggregate, export, declared fleets, data-protection retention.

Loaded by :mod:`fleet_monitor.cli` (``register(cli)``). Exports made here are
recorded in the audit log like those downloaded from the web app.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click

FORMATS = ("csv", "xlsx", "geojson", "pdf", "json")


def _parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO time (2026-11-01T06:00+01:00)") from None
    if at.tzinfo is None:
        raise click.BadParameter("give the time with its UTC offset (or Z)")
    return at.astimezone(UTC)


def _engine(settings: Any) -> Any:
    from fleet_monitor.database import make_engine

    return make_engine(settings.database_url, pool_size=2)


def _audit(engine: Any, event: str, operator_id: int | None, **details: Any) -> None:
    from sqlalchemy.orm import Session

    from fleet_monitor.users import record_audit

    with Session(engine) as s, s.begin():
        record_audit(
            s, event, actor_role="cli", actor_email=None, operator_id=operator_id, details=details
        )


def register(cli: click.Group) -> None:
    @cli.group("stats")
    def stats() -> None:
        """Statistics: aggregates, exports, declared fleets, retention."""

    @stats.command("aggregate")
    @click.option("--until", default=None, help="Aggregate the days complete at this time.")
    @click.option("--from", "first", default=None, help="First local day (YYYY-MM-DD).")
    @click.option("--recompute", is_flag=True, help="Recompute days already aggregated.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def aggregate_cmd(
        obj: Any, until: str | None, first: str | None, recompute: bool, as_json: bool
    ) -> None:
        """Aggregate every complete local day not yet aggregated (incremental)."""
        from fleet_monitor.stats.aggregate import AggregateConfig, aggregate

        settings = obj.settings
        try:
            first_day = date.fromisoformat(first) if first else None
        except ValueError:
            raise click.BadParameter(f"{first!r} is not a date (YYYY-MM-DD)") from None
        engine = _engine(settings)
        try:
            summary = aggregate(
                engine,
                AggregateConfig.from_settings(settings),
                until=_parse_time(until),
                first=first_day,
                recompute=recompute,
            )
        finally:
            engine.dispose()
        if as_json:
            click.echo(json.dumps(summary.as_dict(), indent=2))
            return
        click.echo(
            f"{len(summary.days)} days aggregated in {summary.duration_s:.1f} s"
            + (f" ({summary.days[0]} to {summary.days[-1]})" if summary.days else "")
            + (" - another aggregation was running" if summary.skipped_locked else "")
        )

    @stats.command("export")
    @click.option("--period", required=True, help="2026-10, 2026-W41, 2026-10-05, A..B, 2026.")
    @click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
    @click.option("--operator", default=None, help="Only this operator (slug).")
    @click.option("--zone", default="*", show_default=True, help="A statistics zone id.")
    @click.option("--form-factor", default="*", show_default=True)
    @click.option("--lang", type=click.Choice(("fr", "en")), default=None)
    @click.pass_obj
    def export_cmd(
        obj: Any,
        period: str,
        fmt: str,
        out: str,
        operator: str | None,
        zone: str,
        form_factor: str,
        lang: str | None,
    ) -> None:
        """Export the statistics of a period (methodology and coverage included)."""
        from fleet_monitor.stats.periods import PeriodError, parse_period
        from fleet_monitor.stats.report import ReportQuery
        from fleet_monitor.stats.service import make_export

        settings = obj.settings
        try:
            p = parse_period(period, settings.city.timezone)
        except PeriodError as exc:
            raise click.BadParameter(str(exc)) from None
        query = ReportQuery(p, operator, form_factor, zone, lang or settings.city.locale)
        engine = _engine(settings)
        try:
            result = make_export(engine, settings, query, fmt, visible=None)
            if operator and not result.report["sections"]["fleet"]["rows"]:
                click.echo(f"unknown operator {operator!r}", err=True)
                sys.exit(1)
            Path(out).write_bytes(result.content)
            op_id = next(
                (o["id"] for o in result.report["operators"] if o["slug"] == operator), None
            )
            _audit(
                engine,
                "stats.export",
                op_id,
                format=fmt,
                period=p.label,
                operator=operator or "*",
                zone=zone,
                form_factor=form_factor,
                file=Path(out).name,
                bytes=len(result.content),
                via="cli",
            )
        finally:
            engine.dispose()
        click.echo(f"{out}: {fmt}, {len(result.content)} bytes, period {p.label}")

    @stats.group("declared-fleet")
    def declared() -> None:
        """Fleets declared by the operators, per period."""

    @declared.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.pass_obj
    def declared_import(obj: Any, file: str) -> None:
        """Import declarations from CSV: operator,period,declared[,form_factor][,note]."""
        from fleet_monitor.stats.declared import import_csv

        settings = obj.settings
        text = Path(file).read_text(encoding="utf-8-sig")
        engine = _engine(settings)
        try:
            raw = engine.raw_connection()
            try:
                with raw.driver_connection.cursor() as cur:
                    result = import_csv(cur, text, settings.city.timezone, source="cli")
                if result.errors:
                    raw.driver_connection.rollback()
                else:
                    raw.driver_connection.commit()
            finally:
                raw.close()
            if not result.errors:
                _audit(
                    engine,
                    "stats.declared_fleet.imported",
                    None,
                    file=Path(file).name,
                    rows=len(result.stored),
                    via="cli",
                )
        finally:
            engine.dispose()
        for error in result.errors:
            click.echo(f"  {error}", err=True)
        if result.errors:
            click.echo("nothing imported", err=True)
            sys.exit(1)
        click.echo(f"{len(result.stored)} declarations imported")

    @stats.command("retention")
    @click.option("--now", "now", default=None, help="Apply the policy as of this time.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_obj
    def retention_cmd(obj: Any, now: str | None, as_json: bool) -> None:
        """Coarsen or purge positions past stats.position_history_days; drop old aggregates."""
        from fleet_monitor.stats.retention import apply_retention

        settings = obj.settings
        engine = _engine(settings)
        try:
            summary = apply_retention(
                engine, settings.stats, settings.city.timezone, _parse_time(now)
            )
        finally:
            engine.dispose()
        if as_json:
            click.echo(json.dumps(summary.as_dict(), indent=2))
        else:
            done = "coarsened" if summary.policy == "coarsen" else "deleted"
            click.echo(
                f"{summary.dwells} stays {done} (ended before {summary.horizon:%Y-%m-%d %H:%M}"
                f" UTC); {summary.aggregate_days_deleted} aggregated days past retention deleted"
            )
