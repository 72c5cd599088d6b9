"""``fleet-monitor ingest SOURCE``: one ingest from a URL, a folder or a file.

Everything is checked before anything is written: a bad argument, a source
that cannot be read, or one with nothing usable raises :class:`IngestInputError`
(the CLI prints its one-line message and exits 2) and leaves the database as it
was: no operator, no feed, no fetch row. Once the source has something usable,
every file is recorded as a scheduled poll records it (failed fetches and
outages included), so a partly broken source still leaves its evidence.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from datastore import pg_connection
from fleet_monitor.database import ensure_database, make_engine, upgrade
from fleet_monitor.history.evidence import fetch_findings
from fleet_monitor.settings import Settings
from gbfs_ingest.auth import redact_url
from gbfs_ingest.config import OperatorSettings
from gbfs_ingest.feed_scope import not_ingested_reason
from gbfs_ingest.fetch import FetchResult, fetch
from gbfs_ingest.finding_text import describe_finding, feed_file_name
from gbfs_ingest.model import Discovery, FeedType, Finding
from gbfs_ingest.parse import ParseError, read_document
from gbfs_ingest.parse.boundary import url_problem
from gbfs_ingest.pipeline import DiscoveryError, Ingestor
from gbfs_ingest.registry import operator_feed_ids, register_discovery, wanted_feeds
from gbfs_ingest.replay import STORED_COUNTS, ReplayFile, collect_files, replay

_SLUG = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SHOWN_PROBLEMS = 3


class IngestInputError(ValueError):
    """A bad argument or a source with nothing usable: nothing was written."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")[:64] or "operator"


def ingest_source(settings: Settings, source: str, operator_slug: str | None) -> dict[str, Any]:
    """Ingest ``source`` once; raises :class:`IngestInputError` before writing anything
    when the arguments are wrong or the source has nothing usable."""
    if operator_slug is not None and not _SLUG.fullmatch(operator_slug):
        raise IngestInputError("--operator must be 1-64 letters, digits, '-' or '_'")
    if "://" in source or source.lower().startswith(("http:", "https:")):
        problem = url_problem(source)
        if problem is not None:
            raise IngestInputError(f"source URL {redact_url(source)} {problem[1]}")
        return _ingest_url(settings, source, operator_slug)
    return _ingest_path(settings, Path(source), operator_slug)


def _summary(operator: str) -> dict[str, Any]:
    return {
        "operator": operator,
        "version": None,
        "files": 0,
        "files_ok": 0,
        "vehicles_stored": 0,
        "vehicles_without_position": 0,
        "stations_stored": 0,
        "outcomes": {},
        "warnings": [],
        "errors": [],
        "ignored": [],
    }


def _nothing_usable(where: str, problems: list[str]) -> IngestInputError:
    shown = "; ".join(problems[:_SHOWN_PROBLEMS])
    more = len(problems) - _SHOWN_PROBLEMS
    if more > 0:
        shown += f"; and {more} more"
    return IngestInputError(f"{where}: nothing usable, nothing stored ({shown})")


def _prepare_database(settings: Settings) -> None:
    """Create and migrate the database: only once the source is known to be usable."""
    ensure_database(settings.database_url)
    upgrade(settings.database_url)


# --------------------------------------------------------------------------- local files


def _ingest_path(settings: Settings, path: Path, operator_slug: str | None) -> dict[str, Any]:
    if not path.exists():
        raise IngestInputError(f"{path}: no such file or folder")
    files, ignored = collect_files(path, int(settings.ingest.max_decoded_mb * 1024 * 1024))
    ingested = [f for f in files if f.ingested]
    if not ingested:
        recognised = [f for f in files if f.feed_type is not FeedType.GBFS]
        if recognised:  # e.g. only a 3.1 vehicle_availability.json: say why it is left out
            first = recognised[0]
            reason = not_ingested_reason(first.feed_type) or "not ingested"
            raise IngestInputError(
                f"{path}: no file this service ingests ({first.path.name}: {reason})"
            )
        raise IngestInputError(
            f"{path}: no GBFS feed file (named like free_bike_status.json or"
            " station_information_1733004120.json)"
        )
    if all(f.problem is not None for f in ingested):
        raise _nothing_usable(str(path), [_file_problem(f) for f in ingested])
    slug = operator_slug or _slug(path.stem if path.is_file() else path.name)
    configured = {op.slug: op for op in settings.operators}
    name = configured[slug].name if slug in configured else None
    _prepare_database(settings)
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        return replay(
            engine,
            path,
            operator_slug=slug,
            operator_name=name,
            settings=settings.ingest,
            collected=(files, ignored),
        ).as_dict()
    finally:
        engine.dispose()


def _file_problem(f: ReplayFile) -> str:
    return f"{f.path.name}: {f.problem}"


# --------------------------------------------------------------------------- discovery URL


def _operator_for(settings: Settings, url: str, slug: str | None) -> OperatorSettings:
    op = next(
        (
            o
            for o in settings.operators
            if o.slug == slug or (slug is None and o.discovery_url == url)
        ),
        None,
    )
    if op is None:
        op_slug = slug or _slug(urlsplit(url).hostname or "operator")
        return OperatorSettings(slug=op_slug, name=op_slug, discovery_url=url)
    # a configured operator keeps its credentials bound to its configured origins:
    # a URL elsewhere is fetched without them
    return op if op.discovery_url == url else dataclasses.replace(op, discovery_url=url)


def _fetch_problem(res: FetchResult) -> str | None:
    if not res.ok or res.body is None:
        return res.error or f"HTTP {res.status}"
    try:
        read_document(res.body)
    except ParseError as exc:
        return str(exc)
    return None


def _ingest_url(settings: Settings, url: str, slug: str | None) -> dict[str, Any]:
    op = _operator_for(settings, url, slug)
    engine = make_engine(settings.database_url, pool_size=2)  # connects on first use only
    ingestor = Ingestor(engine, settings.ingest)
    try:
        try:
            discovery, op = ingestor.read_discovery(op)
        except DiscoveryError as exc:
            raise IngestInputError(str(exc)) from None
        wanted = wanted_feeds(op, discovery)
        if not wanted:
            raise IngestInputError(
                f"{op.slug}: the discovery file lists no feed this service ingests"
            )
        fetched = {
            ref.feed_type: fetch(
                ref.url, policy=ingestor.policy, auth=op.auth, client=ingestor.client
            )
            for ref in wanted
        }
        problems = {ft: _fetch_problem(res) for ft, res in fetched.items()}
        if all(problems.values()):
            raise _nothing_usable(
                op.slug, [f"{ft.value}: {problem}" for ft, problem in problems.items()]
            )
        _prepare_database(settings)
        return _store(engine, ingestor, op, discovery, fetched)
    finally:
        ingestor.close()
        engine.dispose()


def _store(
    engine: Engine,
    ingestor: Ingestor,
    op: OperatorSettings,
    discovery: Discovery,
    fetched: dict[FeedType, FetchResult],
) -> dict[str, Any]:
    summary = _summary(op.slug)
    summary["version"] = discovery.version
    for ft, ref in discovery.feeds.items():  # listed, recognised, left out: say why
        reason = not_ingested_reason(ft)
        if reason is not None and ft is not FeedType.GBFS:
            summary["ignored"].append(f"{ref.name}: recognised, not ingested: {reason}")
    with Session(engine) as session, session.begin():
        registered = register_discovery(session, op, discovery, ingestor.clock())
    with Session(engine) as session:
        feeds = operator_feed_ids(session, registered.operator_id)
    for feed_id, ft in feeds:
        summary["files"] += 1
        res = ingestor.poll(feed_id, op.auth, fetched=fetched.get(ft))
        summary["outcomes"][res.outcome] = summary["outcomes"].get(res.outcome, 0) + 1
        if res.outcome in ("error", "invalid"):
            summary["errors"].append(f"{ft.value}: {res.error}")
        else:
            summary["files_ok"] += 1
            if res.outcome not in ("ok", "unchanged", "not_modified"):
                summary["warnings"].append(f"{ft.value}: {res.outcome} {res.error or ''}")
        listed = discovery.feeds.get(ft)
        name = (
            f"{listed.name}.json" if listed is not None else feed_file_name(ft, discovery.version)
        )
        summary["warnings"].extend(_fetch_warnings(engine, res.fetch_id, name))
    with Session(engine) as session:
        cur = pg_connection(session).cursor()
        cur.execute(STORED_COUNTS, {"op": registered.operator_id})
        (
            summary["vehicles_stored"],
            summary["vehicles_without_position"],
            summary["stations_stored"],
        ) = cur.fetchone()
    return summary


def _fetch_warnings(engine: Engine, fetch_id: int | None, file_name: str) -> list[str]:
    """The error and warning findings of one stored fetch, one line each (file, field,
    count), as a replayed file reports them."""
    if fetch_id is None:
        return []
    with Session(engine) as session:
        findings = fetch_findings(pg_connection(session).cursor(), fetch_id)
    out = []
    for item in findings or []:
        if item.get("severity") in ("error", "warning"):
            finding = Finding(
                item["severity"],
                item["code"],
                item["message"],
                item.get("path") or "",
                item.get("count", 1),
            )
            out.append(describe_finding(file_name, finding))
    return out
