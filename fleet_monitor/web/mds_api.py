"""The MDS 2.0 Policy and Geography APIs: the published documents, as stored.

* ``GET /mds/policies``: policies in effect during ``[start_date, end_date)``
  (MDS query parameters, integer milliseconds; ``start_date`` defaults to the
  request time, ``end_date`` to none: every policy in effect now or later),
  ordered by start; paged (``page``, ``page_size``, default 100, at most 1000)
  with JSON:API ``links`` (``first``, ``last``, ``prev``, ``next``), as the MDS
  Policy README asks ("with pagination as in the agency and provider specs");
* ``GET /mds/policies/<policy_id>``: one policy (``policies`` holds it alone);
* ``GET /mds/policies.json``: the flat file, every policy ever published;
* ``GET /mds/geographies``, ``/mds/geographies.json``: every published
  geography (the spec has no paging for them);
  ``GET /mds/geographies/<geography_id>``: ``{"version", "geography"}``.

Every policy and geography is served as the bytes stored at publication (the
envelope is assembled around them), with ``Content-Type:
application/vnd.mds+json;version=2.0`` and ``last_updated`` (the last
publication). A request whose ``Accept`` asks only for another MDS version
gets 406. Errors are MDS error objects (``error``, ``error_description``,
``error_details``).

Access (``[mds] access``): ``public`` (the default, as MDS recommends), or
``token``: an operator's API token (``Authorization: Bearer``) sees the policies
of its own operator and the geographies that are not another operator's own;
a signed-in account sees what its role allows (staff: everything).
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Blueprint, Response, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet_monitor.history.operators import Operator
from fleet_monitor.mds import store
from fleet_monitor.users import STAFF_ROLES
from fleet_monitor.web.api_tokens import authenticate_bearer
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.permissions import bearer_token, current_user
from rules.mds import MEDIA_TYPE

bp = Blueprint("mds_api", __name__, url_prefix="/mds")

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MDS_TIMESTAMP_MIN = 1_514_764_800_000
MDS_TIMESTAMP_MAX = 4_102_444_800_000  # 2100-01-01
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
ALL = object()  # scope: every operator


class MdsHttpError(Exception):
    def __init__(self, status: int, error: str, description: str, *details: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
        self.details = list(details) or [description]


@bp.errorhandler(MdsHttpError)
def _mds_error(exc: MdsHttpError) -> Response:
    body = {
        "error": exc.error,
        "error_description": exc.description,
        "error_details": exc.details,
    }
    response = Response(orjson.dumps(body), status=exc.status, mimetype="application/json")
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mds"'
    return response


def _respond(body: bytes) -> Response:
    """200 with the MDS media type; an ETag, so that pollers get 304 until a publication."""
    response = Response(body, status=200)
    response.headers["Content-Type"] = MEDIA_TYPE
    response.set_etag(hashlib.sha256(body).hexdigest())
    public = get_settings().mds.access == "public"
    response.headers["Cache-Control"] = "no-cache" if public else "private, no-cache"
    conditional: Response = response.make_conditional(request)  # type: ignore[assignment]
    return conditional


@bp.before_request
def _negotiate() -> None:
    _check_accept(request.headers.get("Accept", ""))


def _check_accept(header: str) -> None:
    """406 when the client asks only for MDS versions other than 2.0."""
    versions = []
    for media_range in header.split(","):
        kind, *params = (part.strip() for part in media_range.split(";"))
        if kind.lower() != "application/vnd.mds+json":
            if kind in ("*/*", "application/*", "application/json"):
                return
            continue
        values = dict(p.split("=", 1) for p in params if "=" in p)
        versions.append(values.get("version", "2.0").strip('"'))
    if versions and not any(v in ("2.0", "2.0.0", "2") for v in versions):
        raise MdsHttpError(
            406,
            "unsupported_version",
            "this server speaks MDS 2.0 only",
            f"requested versions: {', '.join(versions)[:200]}",
        )


def caller_scope(session: Session) -> Any:
    """Whose documents the caller sees: ``ALL`` or an operator slug."""
    if get_settings().mds.access == "public":
        return ALL
    token = bearer_token()
    if token is not None:
        return authenticate_bearer(token).operator_slug  # 401/429 on refusal
    user = current_user()
    if user is None:
        raise MdsHttpError(
            401, "unauthorized", "an operator API token (Authorization: Bearer) is required"
        )
    if user.role in STAFF_ROLES:
        return ALL
    slug = session.scalar(select(Operator.slug).where(Operator.id == user.operator_id))
    return slug or ""


def _sees(scope: Any, operator: str | None, *, geography: bool = False) -> bool:
    if scope is ALL:
        return True
    return (geography and operator is None) or operator == scope


def _timestamp(name: str) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or not MDS_TIMESTAMP_MIN <= int(raw) < MDS_TIMESTAMP_MAX:
        raise MdsHttpError(
            400,
            "bad_param",
            f"{name}: expected integer milliseconds since the epoch, from 2018 to 2099",
            name,
        )
    return datetime.fromtimestamp(int(raw) / 1000, UTC)


def _page_arg(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise MdsHttpError(
            400, "bad_param", f"{name}: expected a whole number from 1 to {maximum}", name
        )
    return int(raw)


def _uuid(value: str, name: str) -> str:
    if not UUID_RE.match(value):
        raise MdsHttpError(400, "bad_param", f"{name}: expected a lowercase UUID", name)
    return value


# --------------------------------------------------------------------------- policies


@bp.get("/policies")
def policies() -> Response:
    start = _timestamp("start_date") or datetime.now(UTC)
    end = _timestamp("end_date")
    if end is not None and end < start:
        raise MdsHttpError(400, "bad_param", "end_date: before start_date", "end_date")
    size = _page_arg("page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    page = _page_arg("page", 1, 10**6)
    with Session(get_engine()) as session:
        scope = caller_scope(session)
        rows = [
            p
            for p in store.published_policies(session)
            if _sees(scope, p.operator) and p.effective_during(start, end)
        ]
        updated = store.last_updated(session) or datetime.now(UTC)
    rows.sort(key=lambda p: p.start_date)  # stable: publication order among equal starts
    pages = max(1, -(-len(rows) // size))
    chunk = rows[(page - 1) * size : page * size]
    body = store.policies_json([p.document for p in chunk], updated)
    links = {
        "first": _page_url(1, size),
        "last": _page_url(pages, size),
        "prev": _page_url(page - 1, size) if page > 1 else None,
        "next": _page_url(page + 1, size) if page < pages else None,
    }
    body = body[:-1] + b',"links":' + orjson.dumps(links) + b"}"
    return _respond(body)


def _page_url(page: int, size: int) -> str:
    """A link built from the known parameters only (never the raw query string)."""
    params: dict[str, Any] = {"page": page, "page_size": size}
    for name in ("start_date", "end_date"):
        value = _timestamp(name)
        if value is not None:
            params[name] = int(value.timestamp() * 1000)
    return url_for("mds_api.policies", _external=True, **params)


@bp.get("/policies/<policy_id>")
def policy(policy_id: str) -> Response:
    policy_id = _uuid(policy_id, "policy_id")
    with Session(get_engine()) as session:
        scope = caller_scope(session)
        found = [
            p
            for p in store.published_policies(session)
            if p.policy_id == policy_id and _sees(scope, p.operator)
        ]
        updated = store.last_updated(session) or datetime.now(UTC)
    if not found:
        raise MdsHttpError(404, "not_found", f"no published policy {policy_id}", policy_id)
    return _respond(store.policies_json([found[0].document], updated))


@bp.get("/policies.json")
def policies_file() -> Response:
    with Session(get_engine()) as session:
        scope = caller_scope(session)
        docs = [p.document for p in store.published_policies(session) if _sees(scope, p.operator)]
        updated = store.last_updated(session) or datetime.now(UTC)
    return _respond(store.policies_json(docs, updated))


# --------------------------------------------------------------------------- geographies


def _geographies() -> tuple[list[store.StoredGeography], datetime]:
    with Session(get_engine()) as session:
        scope = caller_scope(session)
        rows = [
            g
            for g in store.published_geographies(session)
            if _sees(scope, g.operator, geography=True)
        ]
        return rows, store.last_updated(session) or datetime.now(UTC)


@bp.get("/geographies")
def geographies() -> Response:
    rows, updated = _geographies()
    return _respond(store.geographies_json([g.document for g in rows], updated))


@bp.get("/geographies.json")
def geographies_file() -> Response:
    rows, updated = _geographies()
    return _respond(store.geographies_json([g.document for g in rows], updated))


@bp.get("/geographies/<geography_id>")
def geography(geography_id: str) -> Response:
    geography_id = _uuid(geography_id, "geography_id")
    rows, updated = _geographies()
    found = [g for g in rows if g.geography_id == geography_id]
    if not found:
        raise MdsHttpError(404, "not_found", f"no published geography {geography_id}")
    return _respond(store.geography_json(found[0].document, updated))
