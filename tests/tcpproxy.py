"""A TCP proxy on 127.0.0.1 that a test can cut and restore (a database outage).

``cut()`` tears down every open connection (both sides closed, as when the
server crashes or restarts) and, until ``restore()``, closes each new
connection as soon as it is accepted (the server refusing clients). Nothing is
held open: clients see their errors at once, as with a real outage of a
PostgreSQL server (connection reset or refused).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from types import TracebackType

__all__ = ["CuttableProxy"]


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._blocked = False
        self._stop = threading.Event()
        self.refused = 0  # connections closed at once while cut
        self._thread = threading.Thread(target=self._accept_loop, name="tcpproxy", daemon=True)
        self._thread.start()

    def __enter__(self) -> CuttableProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ control

    def cut(self) -> None:
        with self._lock:
            self._blocked = True
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                _close(s)

    def restore(self) -> None:
        with self._lock:
            self._blocked = False

    def close(self) -> None:
        self._stop.set()
        _close(self._listener)
        self.cut()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------------ forwarding

    def _accept_loop(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                blocked = self._blocked
            if blocked:
                self.refused += 1
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(
                target=self._pump, args=(client, server), name="tcpproxy-pump", daemon=True
            ).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        try:
            client.setblocking(False)
            server.setblocking(False)
            sel.register(client, selectors.EVENT_READ, server)
            sel.register(server, selectors.EVENT_READ, client)
            while not self._stop.is_set():
                for key, _mask in sel.select(timeout=0.2):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    dst: socket.socket = key.data
                    data = src.recv(65536)
                    if not data:
                        return
                    dst.setblocking(True)
                    dst.sendall(data)
                    dst.setblocking(False)
        except (OSError, ValueError):
            return  # cut, or closed by one side
        finally:
            sel.close()
            _close(client)
            _close(server)
            with self._lock:
                if (client, server) in self._pairs:
                    self._pairs.remove((client, server))


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()
