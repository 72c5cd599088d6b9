"""Security headers, a per-request CSP nonce, the session cookie's Secure flag, HSTS.

HTTPS is the normal case (behind a TLS reverse proxy, see
``fleet_monitor.web.proxies``): the session cookie is Secure unless the app
runs in debug or testing mode over plain HTTP, or ``SESSION_COOKIE_SECURE``
says otherwise. ``Strict-Transport-Security`` is sent on every HTTPS request
and, in production (cookies Secure), on every response: browsers ignore it
over plain HTTP (RFC 6797, 8.1), and a TLS proxy whose ``X-Forwarded-Proto``
is not trusted then still gets its HSTS through.

The CSP allows scripts and styles only from the app itself, plus inline
``<script>``/``<style>`` elements that carry this request's nonce: folium's map
skeleton, which holds nothing from the database (see
:mod:`fleet_monitor.web.folium_map`); data reaches scripts only as JSON blocks
(:mod:`fleet_monitor.web.encode`), which are not executed and get no nonce.
Images may also come from the configured tile server. A page that uses no
nonce gets none in its policy.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, Request, Response, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

from fleet_monitor.web.encode import json_script

# private, revalidated caching of the base map's tiles and streets (web/basemap.py)
CACHEABLE_ENDPOINTS = frozenset({"basemap.tile", "basemap.streets"})
# inline scripts and styles the app wrote (folium's skeleton, which holds no data);
# JSON data blocks are not scripts and get no nonce
_TAG_WITHOUT_NONCE = re.compile(
    r"<(script|style)\b(?![^>]*\bnonce=)(?![^>]*\btype=\"application/json\")", re.IGNORECASE
)


def tile_origin(tile_url: str) -> str | None:
    """The origin to allow for images of a Leaflet tile URL template, or None.

    ``https://{s}.tile.example.org/{z}/{x}/{y}.png`` gives ``https://*.tile.example.org``;
    a relative URL (tiles served by the app or its reverse proxy) needs nothing.
    """
    if not tile_url:
        return None
    parts = urlsplit(tile_url.replace("{s}", "SUBDOMAIN"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.replace("SUBDOMAIN", "*")
    if "{" in host or "}" in host or "@" in host:
        # a placeholder CSP cannot express: allow nothing rather than too much
        return None
    return f"{parts.scheme}://{host}"


def content_security_policy(tile_url: str, nonce: str | None = None) -> str:
    origin = tile_origin(tile_url)
    img = "'self' data:" + (f" {origin}" if origin else "")
    inline = f" 'nonce-{nonce}'" if nonce else ""
    directives = [
        "default-src 'self'",
        f"script-src 'self'{inline}",
        f"style-src 'self'{inline}",
        f"img-src {img}",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def csp_nonce() -> str:
    """This request's nonce for inline scripts and styles (made on first use)."""
    nonce: str | None = g.get("csp_nonce")
    if nonce is None:
        nonce = secrets.token_urlsafe(18)
        g.csp_nonce = nonce
    return nonce


def add_nonce(html: str, nonce: str) -> str:
    """Put ``nonce`` on every ``<script>`` and ``<style>`` tag of ``html`` lacking one."""
    return _TAG_WITHOUT_NONCE.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"', html)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session whose Secure flag defaults to on.

    ``SESSION_COOKIE_SECURE`` True or False is obeyed; None (the default here)
    means Secure unless the app runs in debug or testing mode.
    """

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookie_secure(app)


def cookie_secure(app: Flask) -> bool:
    """Whether the session cookie gets the Secure flag (in a request: also over HTTPS)."""
    configured = app.config.get("SESSION_COOKIE_SECURE")
    if configured is not None:
        return bool(configured)
    if not (app.debug or app.testing):
        return True
    return has_request_context() and _is_https(request)


def _is_https(req: Request) -> bool:
    return req.scheme == "https"


def init_app(app: Flask, *, tile_url: str, hsts_max_age_s: int = 31_536_000) -> None:
    app.session_interface = SessionInterface()
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.globals["json_script"] = json_script
    headers = {
        "X-Content-Type-Options": "nosniff",
        # tile servers (OpenStreetMap's among them) want to know the site using them
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    }

    @app.after_request
    def _set_headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy(tile_url, g.get("csp_nonce"))
        )
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if hsts_max_age_s > 0 and (_is_https(request) or cookie_secure(app)):
            response.headers.setdefault(
                "Strict-Transport-Security", f"max-age={hsts_max_age_s}; includeSubDomains"
            )
        if request.endpoint != "static" and request.endpoint not in CACHEABLE_ENDPOINTS:
            # pages hold a CSRF token or a signed-in user's data: never kept in a
            # (shared tablet's or proxy's) cache
            response.headers["Cache-Control"] = "no-store"
            response.vary.add("Cookie")
        return response
