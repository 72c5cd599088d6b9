"""``fleet-monitor stats pack``: the negotiation pack of a period as a PDF.

Bad arguments (period, operator, output folder) exit with status 2 and write
nothing; the file is written whole once printed. Recorded in the audit log like
the statistics exports (``stats.export``, ``format = "pack"``).
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click


def register(cli: click.Group) -> None:
    stats = cli.commands.get("stats")
    if not isinstance(stats, click.Group):  # pragma: no cover - cli_stats always loads first
        return

    @stats.command("pack")
    @click.option(
        "--period", required=True, help="2026-Q3, 2026-10, 2026, 2026-01..2026-10 or days A..B."
    )
    @click.option("--operator", default=None, help="Only this operator (slug).")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False))
    @click.pass_obj
    def pack_cmd(obj: Any, period: str, operator: str | None, out: str) -> None:
        """The negotiation pack (scorecards, trends, maps) of a period, as a PDF."""
        from fleet_monitor.cli_stats import _audit, _engine
        from fleet_monitor.history.operators import operator_list
        from fleet_monitor.pack.document import PackQuery, build_pack, render_pdf_bytes
        from fleet_monitor.stats.periods import PeriodError, parse_period

        settings = obj.settings
        try:
            p = parse_period(period, settings.city.timezone)
        except PeriodError as exc:
            raise click.BadParameter(str(exc), param_hint="--period") from None
        target = Path(out)
        if not target.parent.is_dir():
            raise click.BadParameter(f"no folder {str(target.parent)!r}", param_hint="--out")
        engine = _engine(settings)
        try:
            with engine.connect() as conn:
                slugs = {slug for _i, slug, _n in operator_list(conn)}
            if operator is not None and operator not in slugs:
                raise click.BadParameter(f"unknown operator {operator!r}", param_hint="--operator")
            now = datetime.now(UTC)
            context = build_pack(engine, settings, PackQuery(p, operator), now=now)
            content = render_pdf_bytes(context, created=now)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".pack-", suffix=".pdf")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(content)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _audit(
                engine,
                "stats.export",
                None,
                format="pack",
                period=p.label,
                operator=operator or "*",
                file=target.name,
                bytes=len(content),
                via="cli",
            )
        finally:
            engine.dispose()
        click.echo(f"{out}: negotiation pack, {len(content)} bytes, period {p.label}")
