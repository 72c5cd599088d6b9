"""A small scripted HTTP/1.1 server on 127.0.0.1 for tests (no internet needed).

Usage::

    with LocalHTTPServer() as server:
        server.route("/gbfs.json", Reply(body=b"{}", headers={"ETag": '"v1"'}))
        server.route("/moved", Reply.redirect("/gbfs.json"))
        server.route("/flaky", Reply(status=500), Reply(body=b"ok"))  # in turn, last repeats
        server.route("/dyn", lambda request: Reply(body=request.headers.get("x-a", "")))
        url = server.url("/gbfs.json")
        ...
        assert server.requests_for("/gbfs.json")[0].headers["user-agent"]

Each :class:`Reply` can delay before answering, gzip its body, send it chunked,
declare a ``Content-Length`` larger than what it sends (a truncated body), or
trickle chunks. Every request is recorded. Threads and sockets are cleaned up
on exit, even if a delayed reply is still waiting.
"""

from __future__ import annotations

import contextlib
import gzip as gzip_module
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["LocalHTTPServer", "RecordedRequest", "Reply"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # with query string
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # before the status line
    gzip: bool = False  # gzip the body and add Content-Encoding
    chunked: bool = False  # Transfer-Encoding: chunked, no Content-Length
    content_length: int | None = None  # declared length; larger than the body = truncated
    chunk_delay_s: float = 0.0  # pause between body chunks (chunked or iterable bodies)

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        return cls(status=status, headers={"Location": location})

    @classmethod
    def json(cls, text: str, **kwargs: Any) -> Reply:
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return cls(body=text.encode(), headers=headers, **kwargs)


Handler = Callable[[RecordedRequest], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LocalHTTPServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that hang up or fail a TLS handshake are expected in tests


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 10  # idle keep-alive connections end on their own

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        owner = self.server.owner
        reply = owner._reply_for(request)
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True  # the client gave up (e.g. a size limit): fine

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle

    def _send(self, reply: Reply) -> None:
        stop = self.server.owner._stop
        if reply.delay_s and stop.wait(reply.delay_s):
            self.close_connection = True
            return
        chunks = _body_chunks(reply)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.gzip:
            self.send_header("Content-Encoding", "gzip")
        no_body = reply.status in (204, 304) or 100 <= reply.status < 200
        if no_body or self.command == "HEAD":
            self.end_headers()
            return
        total = sum(len(c) for c in chunks)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif "content-length" not in {k.lower() for k in reply.headers}:
            declared = reply.content_length if reply.content_length is not None else total
            self.send_header("Content-Length", str(declared))
            if declared > total:
                self.close_connection = True  # truncated body: send less, then hang up
        self.end_headers()
        for chunk in chunks:
            if reply.chunk_delay_s and stop.wait(reply.chunk_delay_s):
                self.close_connection = True
                return
            if reply.chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                self.wfile.write(chunk)
            self.wfile.flush()
        if reply.chunked:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _body_chunks(reply: Reply) -> list[bytes]:
    body = reply.body
    if isinstance(body, str):
        body = body.encode()
    if isinstance(body, bytes):
        data = gzip_module.compress(body) if reply.gzip else body
        if reply.chunked or reply.chunk_delay_s:
            return [data[i : i + 16384] for i in range(0, len(data), 16384)] or []
        return [data] if data else []
    chunks = [bytes(c) for c in body]
    return [gzip_module.compress(b"".join(chunks))] if reply.gzip else chunks


class LocalHTTPServer:
    """Threaded HTTP/1.1 server on 127.0.0.1 with an ephemeral port and scripted routes.

    With ``ssl_context`` (a server-side context with a certificate loaded) it
    speaks HTTPS; the TLS handshake happens in the connection's own thread.
    """

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        self._routes: dict[str, list[Reply] | Handler] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connections: set[socket.socket] = set()
        self.requests: list[RecordedRequest] = []
        self._server = _Server((host, 0), _RequestHandler)
        self._server.owner = self
        self.scheme = "https" if ssl_context else "http"
        if ssl_context is not None:
            self._server.socket = ssl_context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> LocalHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # wake handler threads blocked on idle keep-alive sockets
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting ------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def route(self, path: str, *replies: Reply | Handler) -> None:
        """Serve ``path`` (query string ignored) with replies in turn (the last repeats),
        or with one handler called for every request."""
        if not replies:
            raise ValueError("route() needs at least one reply or a handler")
        with self._lock:
            if len(replies) == 1 and callable(replies[0]):
                self._routes[path] = replies[0]
            else:
                self._routes[path] = [r for r in replies if isinstance(r, Reply)]

    def requests_for(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0] == path]

    # -- internals --------------------------------------------------------------------

    def _reply_for(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            route = self._routes.get(request.path.split("?", 1)[0])
            if route is None:
                return Reply(status=404, body=b"not found")
            if isinstance(route, list):
                return route.pop(0) if len(route) > 1 else route[0]
        return route(request)

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


def serve() -> Iterator[LocalHTTPServer]:
    """Generator for a pytest fixture: ``server = pytest.fixture(serve)``."""
    with LocalHTTPServer() as server:
        yield server
