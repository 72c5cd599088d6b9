"""``fleet-monitor zones|permits|rules|violations|export``: the rules from the command line.

Wrong input (a bad file, an unknown kind, a bad date, a time in the future)
prints one message naming the problem and exits with code 2, having written
nothing: every command validates its input before it opens its single
transaction (``cli_rules_inputs``). ``zones`` and ``permits`` live in
``cli_zones``.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import orjson

from fleet_monitor.cli_rules_inputs import (
    InputError,
    configured_operators,
    emit,
    fmt,
    parse_time,
    read_text_file,
    refuse_before_history,
    refuse_future,
    session_scope,
    settings,
    warn,
)
from fleet_monitor.cli_zones import permits, zones
from rules import (
    PermitError,
    RuleType,
    parse_duration,
    permits_to_mds_policy,
    zones_to_mds_geographies,
)

#: bigint ids (a larger number would be a database error, not a missing violation)
ID = click.IntRange(1, 2**63 - 1)


def register(cli: click.Group) -> None:
    """Add the rules' command groups to the ``fleet-monitor`` command line."""
    for group in (zones, permits, rules_group, violations, export):
        cli.add_command(group)


def _write_out(payload: dict[str, Any], out: str | None) -> None:
    body = orjson.dumps(payload, option=orjson.OPT_INDENT_2)
    if out is None:
        click.echo(body.decode())
        return
    target = Path(out)
    if not target.parent.is_dir():
        raise InputError(f"--out: folder {str(target.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    click.echo(f"wrote {target} ({len(body):,} bytes)", err=True)


# --------------------------------------------------------------------------- rules


@click.group("rules")
def rules_group() -> None:
    """Evaluate the rules, now or in a what-if replay."""


FORCE_PAST = click.option(
    "--force",
    is_flag=True,
    help="Evaluate before the first stored observation (replays of the past only; a time in"
    " the future is always refused).",
)


@rules_group.command("run")
@click.option(
    "--at",
    "at_text",
    default="now",
    show_default=True,
    help="Evaluation time (ISO 8601, or a date; city time without an offset); not in the future.",
)
@FORCE_PAST
@click.option("--json", "as_json", is_flag=True)
def rules_run(at_text: str, force: bool, as_json: bool) -> None:
    """Evaluate every rule and update the violations."""
    from fleet_monitor.violations import RulesError, evaluate_rules
    from fleet_monitor.violations.catalog import CatalogError

    at = parse_time(at_text, "--at")
    refuse_future(at, "--at")
    try:
        with session_scope(write=True) as session:
            refuse_before_history(session, at, "--at", force=force)
            summary = evaluate_rules(
                session,
                at,
                settings=settings().rules,
                trigger="cli",
                clock=datetime.now(UTC),
            )
    except (RulesError, CatalogError) as exc:
        raise InputError(f"--at: {exc}") from None
    if summary.voided is not None:
        warn(f"recovered: {summary.voided.describe(datetime.now(UTC))}")
    for issue in summary.config_issues:
        skipped = "skipped" if issue.severity == "error" else "used"
        warn(f"warning: {issue.kind} {issue.label} {skipped}: {issue.reason}")
    lc = summary.lifecycle
    emit(
        summary.as_dict(),
        as_json,
        f"rules at {at.isoformat()}: {summary.vehicles} vehicles, {summary.findings} findings;"
        f" opened {len(lc.opened)}, updated {lc.updated + lc.resumed}, held {lc.held},"
        f" closed {lc.closed} (run {summary.run_id}, {summary.duration_s:.2f} s)"
        + (
            f"; in outage: {', '.join(summary.operators_in_outage)}"
            if lc.held or summary.operators_in_outage
            else ""
        ),
    )


@rules_group.command("replay")
@click.option("--from", "start_text", required=True, help="Start (date or ISO 8601 time).")
@click.option(
    "--to", "end_text", required=True, help="End (date or ISO 8601 time); not in the future."
)
@click.option(
    "--permit",
    "permit_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Draft permit (TOML); replaces that operator's permits. Zones it names must exist.",
)
@click.option("--every", default="1h", show_default=True, help="Evaluation step (1h, 30m...).")
@FORCE_PAST
@click.option("--json", "as_json", is_flag=True)
def rules_replay(
    start_text: str, end_text: str, permit_file: Path, every: str, force: bool, as_json: bool
) -> None:
    """Evaluate a draft permit against stored history; real violations are untouched."""
    from fleet_monitor.violations.catalog import CatalogError, parse_permit
    from fleet_monitor.violations.references import (
        unknown_operator_warning,
        zone_reference_problem,
    )
    from fleet_monitor.violations.replay import MAX_EVALUATIONS, replay_draft

    start, end = parse_time(start_text, "--from"), parse_time(end_text, "--to")
    refuse_future(end, "--to")
    if end < start:
        raise InputError("--to: the end is before --from")
    try:
        step = parse_duration(every)
    except ValueError:
        raise InputError(f"--every: {every!r} is not a duration such as 1h, 30m or PT1H") from None
    if step <= timedelta(0) or (end - start) / step > MAX_EVALUATIONS:
        raise InputError(
            f"--every: must be positive and give at most {MAX_EVALUATIONS:,} evaluations"
        )
    text = read_text_file(permit_file, "--permit")
    try:
        draft = parse_permit(text, settings().rules.gps_tolerance_m)
    except PermitError as exc:
        raise InputError(f"--permit: {permit_file.name}: {exc}") from None
    try:
        with session_scope(write=False) as session:
            refuse_before_history(session, start, "--from", force=force)
            problem = zone_reference_problem(session, draft)
            if problem is not None:
                raise InputError(f"--permit: {permit_file.name}: {problem}")
            warning = unknown_operator_warning(
                session, draft.operator, configured_operators(), f"--permit: {permit_file.name}"
            )
            report = replay_draft(session, draft, start, end, step, settings=settings().rules)
    except CatalogError as exc:
        raise InputError(str(exc)) from None
    if warning:
        warn(warning)
    data = report.as_dict()
    lines = [
        f"draft {draft.operator} v{draft.version}: {report.evaluations} evaluations from"
        f" {start.isoformat()} to {end.isoformat()} every {every}",
        *(
            f"  {r['operator']:<16} {r['rule_type']:<28} {r['violation']:>6} violations"
            f" {r['uncertain']:>6} uncertain"
            for r in data["results"]
        ),
    ]
    emit(data, as_json, "\n".join(lines))


# --------------------------------------------------------------------------- violations


@click.group()
def violations() -> None:
    """Violations found by the rules."""


@violations.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only open (or held) violations.")
@click.option("--operator", default=None, help="Only this operator (slug).")
@click.option(
    "--rule",
    "rule_type",
    default=None,
    help="Only this rule type.",
    type=click.Choice([str(r) for r in RuleType]),
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    help="At most this many (0: all; default: all with --json, else 200).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON with evidence.")
def violations_list(
    open_only: bool, operator: str | None, rule_type: str | None, limit: int | None, as_json: bool
) -> None:
    """Violations, most recently opened first."""
    from fleet_monitor.violations.queries import list_violations

    if limit is None:
        limit = 0 if as_json else 200
    with session_scope(write=False) as session:
        rows = list_violations(
            session,
            open_only=open_only,
            operator=operator,
            rule_type=rule_type,
            limit=limit or None,
            with_evidence=as_json,
        )
        if as_json:
            add_addresses(session, rows)
    lines = []
    for r in rows:
        measured = "-" if r["measured"] is None else f"{r['measured']:g} {r['unit']}"
        subject = r["gbfs_id"] or r["subject"]
        lines.append(
            f"#{r['id']:<6} {r['state']:<6} {r['status']:<9} {r['rule_type']:<26}"
            f" {r['operator']:<12} {subject[:24]:<24} {r['zone_id'] or '':<24}"
            f" since {fmt(r['since'])} seen {fmt(r['last_seen_at'])} {measured}"
        )
    emit(rows, as_json, "\n".join([*lines, f"{len(rows)} violations"]))


@violations.command("show")
@click.argument("violation_id", type=ID)
def violations_show(violation_id: int) -> None:
    """One violation with its evidence and timeline (JSON)."""
    from fleet_monitor.violations.queries import list_violations, violation_timeline

    with session_scope(write=False) as session:
        rows = list_violations(session, violation_id=violation_id)
        if not rows:
            raise InputError(f"no violation #{violation_id}")
        rows[0]["timeline"] = violation_timeline(session, violation_id)
        add_addresses(session, rows)
    emit(rows[0], True, "")


def add_addresses(session: Any, rows: list[dict[str, Any]]) -> None:
    """Each exported violation gets ``address``: its nearest address (or None)."""
    from fleet_monitor.addresses import nearest_addresses

    placed = [r for r in rows if r.get("position")]
    limit = settings().addresses.max_distance_m
    found = nearest_addresses(session, [tuple(r["position"]) for r in placed], limit)
    for r in rows:
        r["address"] = None
    for r, a in zip(placed, found, strict=True):
        r["address"] = None if a is None else a.as_dict()


# --------------------------------------------------------------------------- export


@click.group()
def export() -> None:
    """Publish the city's rules in open formats."""


@export.command("mds-policy")
@click.option("--out", default=None, help="Output file (default: standard output).")
def export_policy(out: str | None) -> None:
    """Every permit version as MDS 2.0 Policy (policies.json)."""
    from fleet_monitor.violations.catalog import CatalogError, load_permits, load_zones

    try:
        with session_scope(write=False) as session:
            payload = permits_to_mds_policy(load_permits(session), load_zones(session))
    except CatalogError as exc:
        raise InputError(str(exc)) from None
    _write_out(payload, out)


@export.command("mds-geography")
@click.option("--out", default=None, help="Output file (default: standard output).")
def export_geography(out: str | None) -> None:
    """Every zone version as MDS 2.0 Geography (geographies.json)."""
    from fleet_monitor.violations.catalog import load_zones

    with session_scope(write=False) as session:
        payload = zones_to_mds_geographies(
            load_zones(session), line_half_width_m=settings().rules.line_half_width_m
        )
    _write_out(payload, out)
