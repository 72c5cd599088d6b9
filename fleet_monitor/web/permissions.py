"""Who may see and do what: login for every page, roles, and operator scoping.

Every request needs a signed-in account except the login page, ``/api/health``
and static files (anonymous visitors are sent to the login page, API calls get
401). Roles:

* ``officer``, ``supervisor``, ``admin`` (staff) see every operator;
* ``operator`` accounts see their own operator's data only.

Blueprints reuse three helpers so that scoping is written once:

* ``@require_role("admin")`` (or ``*STAFF_ROLES``...) on a view: 403 otherwise;
* ``visible_operator_ids(user)``: None for "all operators", else the set of ids;
* ``operator_scope(column)``: a SQLAlchemy condition restricting ``column``
  (an ``operator_id``) to what the current account may see, for ORM/Core
  queries; ``scope_param()`` gives the same as an ``int[]`` (or NULL) parameter
  for text SQL: ``AND (CAST(:scope AS int[]) IS NULL OR x.operator_id = ANY(:scope))``;
* ``ensure_operator_visible(operator_id)``: 404 for an object of another
  operator reached by changing an id in a URL (404, not 403: its existence is
  not disclosed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, g, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import ColumnElement, false, true

from fleet_monitor.history.operators import operator_list
from fleet_monitor.users import STAFF_ROLES
from fleet_monitor.web.db import get_engine, get_settings
from fleet_monitor.web.sessions import CurrentUser, load_session

PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.login",
        "api.health",
        "static",
        # a right password waiting for its second factor, checked by the views
        "two_factor.verify",
        "two_factor.setup",
        # password reset by e-mail
        "password_reset.forgot",
        "password_reset.link",
        "password_reset.reset",
        # MDS Policy and Geography: public or token-protected by [mds] access, checked
        # by the views themselves (fleet_monitor.web.mds_api)
        "mds_api.policies",
        "mds_api.policy",
        "mds_api.policies_file",
        "mds_api.geographies",
        "mds_api.geography",
        "mds_api.geographies_file",
        "gbfs_geofencing.v23",
        "gbfs_geofencing.v30",
        # a notice's signed respond link (web/respond.py): the link is the credential
        "respond.page",
        "respond.acknowledge",
        "respond.dispute",
        "respond.pdf",
        # residents' reports (issue 15): the public page and Open311
        "resident.form",
        "open311.services",
        "open311.create",
        "open311.status",
        "open311.requests_list",
        "open311_discovery.discovery_json",
        "open311_discovery.discovery_xml",
    }
)
# the local base map: public only with ``[web] basemap_public`` (web/basemap.py)
BASEMAP_ENDPOINTS = frozenset({"basemap.tile", "basemap.streets"})
ANONYMOUS_ENDPOINTS = frozenset({"api.health", "static"})  # the session is not even read
ALL_ROLES = (*STAFF_ROLES, "operator")

F = TypeVar("F", bound=Callable[..., Any])


def current_user() -> CurrentUser | None:
    user: CurrentUser | None = g.get("user")
    return user


def visible_operator_ids(user: CurrentUser | None) -> frozenset[int] | None:
    """Operators ``user`` may see: None means all; an empty set means none."""
    if user is None:
        return frozenset()
    if user.role in STAFF_ROLES:
        return None
    if user.role == "operator" and user.operator_id is not None:
        return frozenset({user.operator_id})
    return frozenset()


def operator_scope(column: Any, user: CurrentUser | None = None) -> ColumnElement[bool]:
    """SQL condition: ``column`` (an operator id) is visible to ``user`` (default: current)."""
    ids = visible_operator_ids(user if user is not None else current_user())
    if ids is None:
        return true()
    if not ids:
        return false()
    return column.in_(sorted(ids))


def scope_param(user: CurrentUser | None = None) -> list[int] | None:
    """The scope as a text-SQL parameter: None (all operators) or a list of ids."""
    ids = visible_operator_ids(user if user is not None else current_user())
    return None if ids is None else sorted(ids)


def visible_operator_slugs(user: CurrentUser | None = None) -> set[str]:
    """Slugs of the operators the account (default: current) may see."""
    ids = visible_operator_ids(user if user is not None else current_user())
    with get_engine().connect() as conn:
        rows = operator_list(conn)
    return {slug for op_id, slug, _name in rows if ids is None or op_id in ids}


def can_see_operator(operator_id: int | None, user: CurrentUser | None = None) -> bool:
    ids = visible_operator_ids(user if user is not None else current_user())
    return ids is None or (operator_id is not None and operator_id in ids)


def ensure_operator_visible(operator_id: int | None) -> None:
    if not can_see_operator(operator_id):
        abort(404)


def require_role(*roles: str) -> Callable[[F], F]:
    """View decorator: the signed-in account must have one of ``roles`` (else 403)."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return login_needed()
            if user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, if any.

    Views that accept operators' API tokens are marked ``authenticates_bearer``
    (see ``fleet_monitor.web.notices_api``): they are reached without a session
    when such a header is present, and check the token themselves.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def login_needed() -> ResponseReturnValue:
    if is_api_request():
        response = jsonify(error="authentication required")
        response.status_code = 401
        return response
    target = request.full_path if request.method == "GET" else None
    if target and target.endswith("?"):
        target = target[:-1]
    if target == "/":
        target = None
    return redirect(url_for("auth.login", next=target))


def safe_next(target: str | None) -> str | None:
    """A same-site path to go to after login, or None (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(c in target for c in "\r\n\\") or len(target) > 2000:
        return None
    return target


def session_idle(app: Flask) -> timedelta:
    return timedelta(seconds=int(app.config["FLEET_SESSION_IDLE_S"]))


def session_max_age(app: Flask) -> timedelta:
    return timedelta(seconds=int(app.config["FLEET_SESSION_MAX_AGE_S"]))


def init_app(app: Flask) -> None:
    app.config.setdefault("FLEET_SESSION_IDLE_S", 2 * 3600)
    app.config.setdefault("FLEET_SESSION_MAX_AGE_S", 12 * 3600)
    app.permanent_session_lifetime = session_max_age(app)

    @app.before_request
    def _authenticate() -> ResponseReturnValue | None:
        g.user = None
        if request.endpoint in ANONYMOUS_ENDPOINTS:
            # public, and no database round trip: static assets; the health check
            # answers the same for everyone (503 when the database is down)
            return None
        token = session.get("sid")
        if isinstance(token, str) and token:
            with get_engine().begin() as conn:
                g.user = load_session(conn, token, idle=session_idle(app))
            if g.user is None:
                session.pop("sid", None)
        if request.endpoint in PUBLIC_ENDPOINTS or g.user is not None:
            return None
        if request.endpoint is None and request.path.startswith("/open311/"):
            return None  # not served: Open311 clients get GeoReport's 404 (web/errors.py)
        if request.endpoint in BASEMAP_ENDPOINTS and get_settings().web.basemap_public:
            return None  # [web] basemap_public: the residents' page draws the base map too
        if bearer_token() is not None and getattr(
            app.view_functions.get(request.endpoint or ""), "authenticates_bearer", False
        ):
            return None  # an API view that checks the operator's token itself
        return login_needed()

    @app.context_processor
    def _inject() -> dict[str, object]:
        return {"current_user": current_user()}
