"""``fleet-monitor mds publish|export|list``: the city's rules as MDS 2.0, published.

``mds publish`` is the explicit act of publication (MDS policies are immutable
once published): it stores, for the permits in force from ``now + lead`` on,
the policies and geographies that changed since the last publication (see
``fleet_monitor.mds.store``). ``--lead-time`` is at least 20 minutes (MDS) and
24 hours by default, so that operators have a day to load the new rules.
``mds export --dir`` writes the published ``policies.json`` and
``geographies.json`` (mode 0644), byte for byte what the API serves.
``export mds-policy`` / ``mds-geography`` (``fleet_monitor.cli_rules``) write one
of them, or with ``--draft`` what a publication now would contain.

Bad arguments exit with code 2 and write nothing.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from fleet_monitor.cli_rules_inputs import InputError, emit, session_scope, settings, warn
from rules import parse_duration

#: a lead time beyond this is a typo (policies are published for the coming year at most)
MAX_LEAD = timedelta(days=366)


def register(cli: click.Group) -> None:
    cli.add_command(mds_group)
    export = cli.commands.get("export")  # fleet_monitor.cli_rules' group, when present
    (export if isinstance(export, click.Group) else mds_group).add_command(gbfs_geofencing)


@click.command("gbfs-geofencing")
@click.option(
    "--gbfs-version",
    "version",
    type=click.Choice(["2.3", "3.0"]),
    default="3.0",
    show_default=True,
)
@click.option(
    "--operator",
    default=None,
    help="Also that operator's own zones (default: the city-wide zones only).",
)
@click.option("--out", default=None, help="Output file (default: standard output).")
def gbfs_geofencing(version: str, operator: str | None, out: str | None) -> None:
    """The city's no-parking, slow and no-ride zones as GBFS geofencing_zones.json."""
    import orjson

    from fleet_monitor.violations.catalog import load_zones
    from rules.checks import valid_slug
    from rules.gbfs_geofencing import geofencing_zones

    if operator is not None and not valid_slug(operator):
        raise InputError(f"--operator: {operator[:80]!r} is not an operator slug")
    with session_scope(write=False) as session:
        document = geofencing_zones(
            load_zones(session),
            version=version,
            now=datetime.now(UTC),
            operator=operator,
            language=settings().city.locale,
            line_half_width_m=settings().rules.line_half_width_m,
        )
    body = orjson.dumps(document)
    if out is None:
        click.echo(body.decode())
    else:
        write_document(body, out)


def write_document(body: bytes, out: str | Path) -> None:
    """Write ``body`` to ``out`` atomically, readable by everyone (0644: a public document)."""
    target = Path(out)
    if not target.parent.is_dir():
        raise InputError(f"--out: folder {str(target.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    click.echo(f"wrote {target} ({len(body):,} bytes)", err=True)


def published_documents(kind: str) -> bytes:
    """The published ``policies.json`` or ``geographies.json``; InputError if none yet."""
    from fleet_monitor.mds import store

    with session_scope(write=False) as session:
        updated = store.last_updated(session)
        if updated is None:
            raise InputError(
                "nothing published yet: run 'fleet-monitor mds publish' (or use --draft for"
                " a preview of what it would publish)"
            )
        if kind == "policies":
            return store.policies_json(
                [p.document for p in store.published_policies(session)], updated
            )
        return store.geographies_json(
            [g.document for g in store.published_geographies(session)], updated
        )


@click.group("mds")
def mds_group() -> None:
    """Publish the city's rules as MDS 2.0 Policy and Geography."""


@mds_group.command("publish")
@click.option(
    "--lead-time",
    default="24h",
    show_default=True,
    help="Time from publication to the policies' start (at least 20m, MDS), e.g. 24h, 3d.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be published; write nothing.")
@click.option("--json", "as_json", is_flag=True)
def mds_publish(lead_time: str, dry_run: bool, as_json: bool) -> None:
    """Publish the policies and geographies that changed since the last publication."""
    from fleet_monitor.mds.store import publish
    from fleet_monitor.users import record_audit
    from fleet_monitor.violations.catalog import CatalogError, load_permits, load_zones

    try:
        lead = parse_duration(lead_time)
    except ValueError:
        raise InputError(
            f"--lead-time: {lead_time!r} is not a duration such as 24h or 3d"
        ) from None
    if not timedelta(minutes=20) <= lead <= MAX_LEAD:
        raise InputError(
            f"--lead-time: must be between 20 minutes (MDS: a policy starts at least 20 minutes"
            f" after its publication) and {MAX_LEAD.days} days, got {lead_time!r}"
        )
    try:
        with session_scope(write=not dry_run) as session:
            result = publish(
                session,
                load_permits(session),
                load_zones(session),
                now=datetime.now(UTC),
                lead=lead,
                line_half_width_m=settings().rules.line_half_width_m,
                actor=f"cli:{getpass.getuser()}",
                dry_run=dry_run,
            )
            if result.publication_id is not None:  # an act with legal weight: on record
                record_audit(
                    session,
                    "mds.published",
                    actor_role="cli",
                    details={
                        "publication_id": result.publication_id,
                        "start_at": result.start_at.isoformat(),
                        "policies": [p["policy_id"] for p in result.policies],
                    },
                )
    except CatalogError as exc:
        raise InputError(str(exc)) from None
    for note in result.notes:
        warn(f"note: {note}")
    verb = "would publish" if dry_run else "published"
    lines = [
        f"{verb} {len(result.policies)} policies and {result.geographies} geographies"
        f" ({result.unchanged} unchanged), starting {result.start_at.isoformat()}",
        *(
            f"  {p['policy_id']}  {p['name']}"
            + (f"  (replaces {', '.join(p['prev_policies'])})" if p["prev_policies"] else "")
            for p in result.policies
        ),
    ]
    emit(result.as_dict(), as_json, "\n".join(lines))


@mds_group.command("export")
@click.option(
    "--dir",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Existing folder for policies.json and geographies.json.",
)
def mds_export(out_dir: Path) -> None:
    """Write the published policies.json and geographies.json (as served by the API)."""
    if not out_dir.is_dir():
        raise InputError(f"--dir: folder {str(out_dir)!r} does not exist")
    documents = {name: published_documents(name) for name in ("policies", "geographies")}
    for name, body in documents.items():
        write_document(body, out_dir / f"{name}.json")


@mds_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def mds_list(as_json: bool) -> None:
    """Every publication, newest first, with its policies and what replaced them."""
    from fleet_monitor.cli_rules_inputs import fmt
    from fleet_monitor.mds.store import publications

    with session_scope(write=False) as session:
        rows = publications(session)
    lines = []
    for pub in rows:
        lines.append(
            f"#{pub['id']} published {fmt(pub['published_at'])} by {pub['actor'] or '-'}:"
            f" {len(pub['policies'])} policies, {pub['geographies']} geographies"
        )
        for p in pub["policies"]:
            replaced = p["replaced_from"]
            lines.append(
                f"  {p['policy_id']}  {p['operator']} v{p['permit_version']} {p['facet']:<22}"
                f" from {fmt(p['start_date'])}"
                + (f", replaced from {fmt(replaced)}" if replaced else "")
            )
    emit(rows, as_json, "\n".join(lines) or "nothing published yet")
