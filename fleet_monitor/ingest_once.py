"""``fleet-monitor ingest SOURCE``: one ingest from a URL, a folder or a file."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from fleet_monitor.database import ensure_database, make_engine, upgrade
from fleet_monitor.settings import Settings
from gbfs_ingest.config import OperatorSettings
from gbfs_ingest.pipeline import DiscoveryError, Ingestor
from gbfs_ingest.registry import operator_feed_ids
from gbfs_ingest.replay import replay
from gbfs_ingest.vehicle_store import pg_connection


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-")[:64] or "operator"


def ingest_source(settings: Settings, source: str, operator_slug: str | None) -> dict[str, Any]:
    ensure_database(settings.database_url)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        if source.startswith(("http://", "https://")):
            return _ingest_url(settings, engine, source, operator_slug)
        path = Path(source)
        if not path.exists():
            return _empty(operator_slug or "?", f"{source}: no such file or folder")
        slug = operator_slug or _slug(path.stem if path.is_file() else path.name)
        configured = {op.slug: op for op in settings.operators}
        name = configured[slug].name if slug in configured else None
        return replay(
            engine, path, operator_slug=slug, operator_name=name, settings=settings.ingest
        ).as_dict()
    finally:
        engine.dispose()


def _empty(operator: str, error: str) -> dict[str, Any]:
    return {
        "operator": operator,
        "version": None,
        "files": 0,
        "files_ok": 0,
        "vehicles_stored": 0,
        "stations_stored": 0,
        "outcomes": {},
        "warnings": [],
        "errors": [error],
    }


def _ingest_url(settings: Settings, engine: Any, url: str, slug: str | None) -> dict[str, Any]:
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
        op = OperatorSettings(slug=op_slug, name=op_slug, discovery_url=url)
    elif op.discovery_url != url:
        op = dataclasses.replace(op, discovery_url=url)
    summary = _empty(op.slug, "")
    summary["errors"] = []
    ingestor = Ingestor(engine, settings.ingest)
    try:
        try:
            disc = ingestor.discover(op)
        except DiscoveryError as exc:
            summary["errors"].append(str(exc))
            return summary
        summary["version"] = disc.discovery.version
        with Session(engine) as session:
            feeds = operator_feed_ids(session, disc.operator_id)
        for feed_id, ft in feeds:
            summary["files"] += 1
            res = ingestor.poll(feed_id, op.auth)
            summary["outcomes"][res.outcome] = summary["outcomes"].get(res.outcome, 0) + 1
            if res.outcome in ("error", "invalid"):
                summary["errors"].append(f"{ft.value}: {res.error}")
            else:
                summary["files_ok"] += 1
                if res.outcome not in ("ok", "unchanged", "not_modified"):
                    summary["warnings"].append(f"{ft.value}: {res.outcome} {res.error or ''}")
        with Session(engine) as session:
            cur = pg_connection(session).cursor()
            cur.execute(
                "SELECT (SELECT count(*) FROM vehicle_current WHERE operator_id = %s"
                " AND missing_since IS NULL), (SELECT count(*) FROM station"
                " WHERE operator_id = %s)",
                (disc.operator_id, disc.operator_id),
            )
            summary["vehicles_stored"], summary["stations_stored"] = cur.fetchone()
    finally:
        ingestor.close()
    return summary
