"""Security headers on every response, with a CSP that allows only the app and the tile host."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response


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


def content_security_policy(tile_url: str) -> str:
    origin = tile_origin(tile_url)
    img = "'self' data:" + (f" {origin}" if origin else "")
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"img-src {img}",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return "; ".join(directives)


def init_app(app: Flask, *, tile_url: str) -> None:
    csp = content_security_policy(tile_url)
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        # tile servers (OpenStreetMap's among them) want to know the site using them
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
    }

    @app.after_request
    def _set_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
