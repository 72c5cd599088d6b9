"""A WSGI app served by waitress in a background thread, stopped cleanly.

Used by the demo (the web app and the mail catcher's page) and by every test
that drives a real browser. Waitress's own ``run()`` loops until its socket map
is empty, so the usual shutdown (``close()`` from another thread) closes the
listening socket while the server thread may be inside ``select()`` on it:
``OSError: [Errno 9] Bad file descriptor`` in the server thread (seen in CI as
a random teardown error). Here the loop runs one short ``poll`` at a time and
checks a stop flag in between; :meth:`ThreadedWSGIServer.stop` sets the flag,
waits for the loop to return, lets the requests in progress finish, and only
then closes the sockets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

POLL_S = 0.05  # the stop flag is seen within this delay


class ThreadedWSGIServer:
    """``app`` served on ``host:port`` (0: a free port) by waitress in a daemon thread."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        threads: int = 4,
        name: str = "web",
    ) -> None:
        from waitress.server import create_server

        self._server: Any = create_server(app, host=host, port=port, threads=threads)
        self.port: int = int(self._server.effective_port)
        self.url = f"http://{host}:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        from waitress import wasyncore

        socket_map = self._server._map  # the listener, its trigger and open channels
        while not self._stop.is_set() and socket_map:
            wasyncore.loop(timeout=POLL_S, map=socket_map, use_poll=True, count=1)

    def stop(self) -> None:
        """Stop accepting, finish the requests in progress, close every socket."""
        self._stop.set()
        self._thread.join(timeout=10)
        self._server.task_dispatcher.shutdown()
        for channel in list(self._server._map.values()):
            channel.close()  # open keep-alive connections, the trigger, the listener


@contextmanager
def serve_wsgi(app: Any, threads: int = 4) -> Iterator[str]:
    """``app`` served on 127.0.0.1 (a free port) until the block ends; its base URL."""
    server = ThreadedWSGIServer(app, threads=threads)
    try:
        yield server.url
    finally:
        server.stop()
