"""The threaded waitress server used by the demo and the browser tests stops cleanly.

Closing waitress's socket from another thread while its loop sits in
``select()`` raised ``EBADF`` in the server thread at random (a CI teardown
error). Started and stopped many times, with a keep-alive connection open and a
request in flight, the server must end its thread, raise nothing (pytest turns
an exception in a thread into an error here) and leave its port closed.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable

import httpx
import pytest

from fleet_monitor.wsgi_thread import ThreadedWSGIServer, serve_wsgi


def slow_app(environ: dict[str, object], start: Callable[..., object]) -> Iterable[bytes]:
    time.sleep(float(str(environ.get("QUERY_STRING") or "0") or 0))
    start("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_starts_and_stops_many_times_with_open_connections() -> None:
    for _ in range(25):
        server = ThreadedWSGIServer(slow_app, threads=2)
        with httpx.Client() as client:  # keeps its connection open
            assert client.get(server.url + "/").text == "ok"
            in_flight = threading.Thread(
                target=_ignore_errors, args=(client.get, server.url + "/?0.2"), daemon=True
            )
            in_flight.start()
            time.sleep(0.02)
            server.stop()
            in_flight.join(timeout=5)
        assert not server._thread.is_alive()
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection(("127.0.0.1", server.port), timeout=1),
        ):
            pass


def test_serve_wsgi_yields_a_working_url() -> None:
    with serve_wsgi(slow_app) as url:
        assert httpx.get(url + "/").text == "ok"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", timeout=1)


def _ignore_errors(call: Callable[[str], object], url: str) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the server stopped under the request
        call(url)
