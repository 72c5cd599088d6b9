"""Serve a simulation's feeds over HTTP (stdlib ``ThreadingHTTPServer``).

``start_server(sim)`` binds (port 0 = any free port), serves from a background
thread and returns a handle with ``.url``, ``.admin_token`` and ``.stop()``;
usable in-process from tests. With a ``clock`` the simulation follows it: each
request (and a background ticker, every ``tick_interval`` wall seconds) advances
the simulation to ``clock()`` first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gbfs_simulator.service import FeedService, Response
from gbfs_simulator.sim import Simulation

log = logging.getLogger("gbfs_simulator.server")
MAX_ADMIN_BODY = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gbfs-simulator/0.1"
    service: FeedService
    stopping: threading.Event

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_ADMIN_BODY:
            self._send(
                Response(413, b'{"error":"body too large"}', {"Content-Type": "application/json"}),
                method,
            )
            return
        body = self.rfile.read(length) if length else b""
        try:
            resp = self.service.handle(method, self.path, dict(self.headers.items()), body)
        except Exception:  # a bug must not kill the server thread
            log.exception("error serving %s %s", method, self.path)
            resp = Response(
                500, b'{"error":"internal error"}', {"Content-Type": "application/json"}
            )
        if resp.delay_s > 0 and self.stopping.wait(resp.delay_s):
            self.close_connection = True
            return
        self._send(resp, method)

    def _send(self, resp: Response, method: str) -> None:
        self.send_response(resp.status)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if method != "HEAD" and resp.body:
            self.wfile.write(resp.body)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class ServerHandle:
    """A running simulator server."""

    def __init__(
        self,
        httpd: ThreadingHTTPServer,
        service: FeedService,
        stopping: threading.Event,
        threads: list[threading.Thread],
    ) -> None:
        self.httpd = httpd
        self.service = service
        self.sim = service.sim
        self._stopping = stopping
        self._threads = threads
        host, port = httpd.server_address[:2]
        self.host, self.port = str(host), int(port)
        self.url = f"http://{self.host}:{self.port}"

    @property
    def admin_token(self) -> str:
        return self.service.admin_token

    def discovery_url(self, operator: str) -> str:
        return f"{self.url}/{operator}/gbfs.json"

    def stop(self) -> None:
        """Stop serving, wake up delayed responses and close the socket (idempotent)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_server(
    sim: Simulation,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    clock: Callable[[], datetime] | None = None,
    admin_token: str | None = None,
    tick_interval: float | None = None,
    base_url: str | None = None,
) -> ServerHandle:
    """Serve ``sim`` on ``host:port`` from background threads; returns the handle."""
    stopping = threading.Event()
    httpd = ThreadingHTTPServer((host, port), _Handler)
    httpd.daemon_threads = True
    raw_host, bound_port = httpd.server_address[:2]
    bound_host = raw_host.decode() if isinstance(raw_host, bytes) else str(raw_host)
    url_host = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    service = FeedService(sim, base_url or f"http://{url_host}:{bound_port}", admin_token, clock)
    service.renderer.warm()
    handler = type("Handler", (_Handler,), {"service": service, "stopping": stopping})
    httpd.RequestHandlerClass = handler
    threads = [
        threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="gbfs-simulator-http",
            daemon=True,
        )
    ]
    if clock is not None and tick_interval:

        def tick() -> None:
            while not stopping.wait(tick_interval):
                try:
                    service.sync()
                except Exception:
                    log.exception("simulation tick failed")

        threads.append(threading.Thread(target=tick, name="gbfs-simulator-tick", daemon=True))
    for t in threads:
        t.start()
    return ServerHandle(httpd, service, stopping, threads)
