"""Request handling, independent of any HTTP server: routes, faults, ETag, gzip, admin.

``FeedService.handle(method, path, headers, body)`` returns a ``Response``;
``server.py`` puts it on the wire and ``record.py`` writes it to disk.

Routes::

    GET  /                                   index of operators (JSON)
    GET  /<op>/gbfs.json                     discovery (1.x/2.x per language, 3.0 flat)
    GET  /<op>/manifest.json                 3.0 only
    GET  /<op>/<lang>/<feed>.json            1.x/2.x files (also /<op>/<feed>.json)
    GET  /<op>/<feed>.json                   3.0 files
    GET  /city/<kind>.geojson                the city's zones
    GET  /admin/state                        simulation time, counts, cases   (token)
    GET|POST|DELETE /admin/faults[/<id>]     list / add / remove faults       (token)
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

import orjson

from gbfs_simulator import faults as fx
from gbfs_simulator.city import ZONE_KINDS, zone_file_bytes
from gbfs_simulator.feeds import FeedRenderer, vehicle_feed_name
from gbfs_simulator.sim import Simulation

JSON = "application/json; charset=utf-8"


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # a ``timeout`` fault: wait this long (wall clock) first
    feed: str | None = None  # the feed served, for logs and recordings
    operator: str | None = None


def _json(status: int, obj: object, **headers: str) -> Response:
    return Response(status, orjson.dumps(obj), {"Content-Type": JSON, **headers})


class FeedService:
    """Serves one simulation's operators; thread-safe (uses ``sim.lock``)."""

    def __init__(
        self,
        sim: Simulation,
        base_url: str,
        admin_token: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.sim = sim
        self.renderer = FeedRenderer(sim, base_url)
        self.admin_token = admin_token or secrets.token_urlsafe(18)
        self.clock = clock
        self._cache: dict[tuple[str, str, str], tuple[object, bytes, str]] = {}
        self._gzip: dict[str, bytes] = {}

    @property
    def base_url(self) -> str:
        return self.renderer.base_url

    def sync(self) -> None:
        """Bring the simulation up to the clock's time (if a clock drives it)."""
        if self.clock is not None:
            self.sim.advance_to(self.clock())

    # --------------------------------------------------------------- routing

    def handle(
        self, method: str, path: str, headers: Mapping[str, str] | None = None, body: bytes = b""
    ) -> Response:
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        path = path.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] == "admin":
            return self._admin(method, parts[1:], headers, body)
        if method not in ("GET", "HEAD"):
            return _json(405, {"error": "method not allowed"}, Allow="GET, HEAD")
        if not parts or parts == ["index.json"]:
            return self._index()
        if parts[0] == "city" and len(parts) == 2 and parts[1].endswith(".geojson"):
            kind = parts[1][: -len(".geojson")]
            if kind in ZONE_KINDS:
                return self._finish(
                    Response(200, zone_file_bytes(kind), {"Content-Type": "application/geo+json"}),
                    headers,
                )
        slug = parts[0]
        if slug not in self.sim.ops or len(parts) not in (2, 3) or not parts[-1].endswith(".json"):
            return _json(404, {"error": "not found"})
        cfg = self.sim.ops[slug].cfg
        feed = parts[-1][: -len(".json")]
        lang = parts[1] if len(parts) == 3 else None
        if lang is not None and (lang not in cfg.languages or cfg.vtuple >= (3, 0)):
            return _json(404, {"error": "not found"})
        if feed not in self.renderer.served_names(slug):
            return _json(404, {"error": "not found"})
        return self._feed(slug, feed, lang or cfg.languages[0], headers)

    def _index(self) -> Response:
        ops = []
        for slug, op in self.sim.ops.items():
            entry = {
                "slug": slug,
                "name": op.cfg.name,
                "version": op.cfg.version,
                "discovery": self.renderer.url(slug, "gbfs"),
                "languages": list(op.cfg.languages),
            }
            if op.cfg.vtuple >= (3, 0):
                entry["manifest"] = self.renderer.url(slug, "manifest")
            ops.append(entry)
        return _json(200, {"operators": ops, "sim_time": self.sim.now.isoformat()})

    # ------------------------------------------------------------------ feeds

    def _feed(self, slug: str, feed: str, lang: str, headers: Mapping[str, str]) -> Response:
        with self.sim.lock:
            self.sync()
            op = self.sim.ops[slug]
            active = self.sim.faults.active(slug, feed, self.sim.now.timestamp())
            kinds = {e.fault.kind: e.fault for e in active}
            if "http_error" in kinds:
                f = kinds["http_error"]
                extra = {"Retry-After": "60"} if f.status == 429 else {}
                resp = _json(f.status, {"error": f"simulated HTTP {f.status}"}, **extra)
                resp.feed, resp.operator = feed, slug
                return resp
            body, etag = self._body(slug, feed, lang)
            last_updated = (
                self.sim.state_ts
                if self.renderer.is_realtime(feed)
                else self.renderer.static_ts(op)
            )
            ctype = JSON
            if "empty" in kinds:
                body = fx.make_empty(body)
            if "stale" in kinds:
                body = fx.make_stale(body, kinds["stale"].stale_by_s)
                last_updated -= kinds["stale"].stale_by_s
            if "wrong_types" in kinds:
                body = fx.make_wrong_types(body)
            if "malformed" in kinds:
                body, ctype = fx.make_malformed(body, kinds["malformed"].mode)
            if kinds.keys() & {"empty", "stale", "wrong_types", "malformed"}:
                etag = _etag(body)
        resp = Response(
            200,
            body,
            {
                "Content-Type": ctype,
                "ETag": etag,
                "Last-Modified": format_datetime(datetime.fromtimestamp(last_updated, UTC), True),
                "Cache-Control": f"public, max-age={op.cfg.ttl}",
            },
            feed=feed,
            operator=slug,
        )
        if "timeout" in kinds:
            resp.delay_s = kinds["timeout"].delay_s
        rotating = op.cfg.id_rotation == "every_fetch" and feed == vehicle_feed_name(op.cfg.version)
        return self._finish(resp, headers, honour_ims=not rotating)

    def _body(self, slug: str, feed: str, lang: str) -> tuple[bytes, str]:
        """Rendered body and ETag, cached while the operator's state is unchanged."""
        op = self.sim.ops[slug]
        realtime = self.renderer.is_realtime(feed)
        if realtime and op.cfg.id_rotation == "every_fetch" and feed != "station_status":
            body = self.renderer.render(slug, feed, lang)
            return body, _etag(body)
        state = (self.sim.k, op.version) if realtime else None
        key = (slug, feed, lang)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == state:
            return hit[1], hit[2]
        body = self.renderer.render(slug, feed, lang)
        etag = _etag(body)
        self._cache[key] = (state, body, etag)
        return body, etag

    def _finish(
        self, resp: Response, headers: Mapping[str, str], honour_ims: bool = True
    ) -> Response:
        """Conditional requests (ETag first, then If-Modified-Since) and gzip."""
        etag = resp.headers.get("ETag") or _etag(resp.body)
        resp.headers["ETag"] = etag
        resp.headers["Vary"] = "Accept-Encoding"
        inm = headers.get("if-none-match")
        not_modified = False
        if inm is not None:
            tags = {t.strip().removeprefix("W/").replace("-gzip", "") for t in inm.split(",")}
            not_modified = "*" in tags or etag in tags
        elif honour_ims and "if-modified-since" in headers and "Last-Modified" in resp.headers:
            try:
                ims = parsedate_to_datetime(headers["if-modified-since"])
                lm = parsedate_to_datetime(resp.headers["Last-Modified"])
                not_modified = lm <= ims
            except (TypeError, ValueError):
                not_modified = False
        if not_modified:
            keep = {
                k: v
                for k, v in resp.headers.items()
                if k in ("ETag", "Last-Modified", "Cache-Control", "Vary")
            }
            return Response(304, b"", keep, resp.delay_s, resp.feed, resp.operator)
        if "gzip" in headers.get("accept-encoding", "") and len(resp.body) > 256:
            gz = self._gzip.get(etag)
            if gz is None:
                gz = gzip.compress(resp.body, compresslevel=1, mtime=0)
                if len(self._gzip) > 64:
                    self._gzip.clear()
                self._gzip[etag] = gz
            resp.body = gz
            resp.headers["Content-Encoding"] = "gzip"
            resp.headers["ETag"] = etag[:-1] + '-gzip"'
        return resp

    # ------------------------------------------------------------------ admin

    def _authorised(self, headers: Mapping[str, str]) -> bool:
        given = headers.get("x-admin-token", "")
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        return bool(given) and hmac.compare_digest(given.encode(), self.admin_token.encode())

    def _admin(
        self, method: str, parts: list[str], headers: Mapping[str, str], body: bytes
    ) -> Response:
        if not self._authorised(headers):
            return _json(
                401,
                {"error": "admin token required"},
                **{"WWW-Authenticate": 'Bearer realm="gbfs-simulator"'},
            )
        with self.sim.lock:
            self.sync()
            if parts == ["state"] and method == "GET":
                return _json(200, self.state())
            if parts[:1] != ["faults"] or len(parts) > 2:
                return _json(404, {"error": "not found"})
            if len(parts) == 2:
                if method != "DELETE":
                    return _json(405, {"error": "method not allowed"}, Allow="DELETE")
                if self.sim.faults.remove(parts[1]):
                    return _json(200, {"removed": parts[1]})
                return _json(404, {"error": f"no fault {parts[1]}"})
            if method == "GET":
                return _json(200, {"faults": [e.to_json() for e in self.sim.faults.entries()]})
            if method == "DELETE":
                return _json(200, {"removed": self.sim.faults.clear()})
            if method != "POST":
                return _json(405, {"error": "method not allowed"}, Allow="GET, POST, DELETE")
            try:
                fault, start, end = fx.fault_from_json(orjson.loads(body or b"null"), self.sim.now)
                entry = self.sim.add_fault(fault, "admin", start=start, end=end)
            except (ValueError, orjson.JSONDecodeError) as exc:
                return _json(400, {"error": str(exc)})
            return _json(201, entry.to_json())

    def state(self) -> dict[str, object]:
        sim = self.sim
        return {
            "sim_time": sim.now.isoformat(),
            "state_time": sim.state_time.isoformat(),
            "seed": sim.seed,
            "operators": {
                slug: {
                    "version": op.cfg.version,
                    "listed": op.n_visible,
                    "cap": op.cfg.cap,
                    "fetches": op.fetch_no,
                }
                for slug, op in sim.ops.items()
            },
            "cases": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "operator": c.operator,
                    "start": c.start.isoformat(),
                    "end": c.end.isoformat() if c.end else None,
                    "positions": [list(p) for p in c.positions],
                    "vehicle_keys": list(c.vehicle_keys),
                    "zone": c.zone,
                    "extra": c.extra,
                    "fault_id": c.fault_id,
                }
                for c in sim.cases()
            ],
        }


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
