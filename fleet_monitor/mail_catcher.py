"""The demo's mail catcher: a real SMTP server on 127.0.0.1 and a page of what it received.

``fleet-monitor demo`` starts it and points ``[mail]`` at it, so the notices,
penalty statements and daily reports the service sends during the demo can be
read as the operators and staff receive them: the list of messages (newest
first, with recipients and subject), each message's HTML body as received,
its text body and its attachments (the PDFs) byte for byte.

Everything stays in memory (the last ``MAX_MESSAGES``) and on 127.0.0.1: this
is a local demonstration tool, not a mail server. Message bodies are hostile
input like any other: the list escapes them, and an HTML body is served alone
with a Content-Security-Policy that forbids scripts and remote content (its own
inline styles only) in a sandbox.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask, Response, abort, render_template_string

MAX_MESSAGES = 500
MAX_MESSAGE_BYTES = 20 * 1024 * 1024
HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


@dataclass
class CaughtMessage:
    id: int
    received_at: datetime
    mail_from: str
    recipients: list[str]
    subject: str
    html: str | None
    text: str | None
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


def parse_message(
    msg_id: int, mail_from: str, rcpt: list[str], data: bytes, at: datetime
) -> CaughtMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    html = msg.get_body(preferencelist=("html",))
    text = msg.get_body(preferencelist=("plain",))
    files = []
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            files.append((part.get_filename() or "attachment", part.get_content_type(), payload))
    return CaughtMessage(
        id=msg_id,
        received_at=at,
        mail_from=mail_from,
        recipients=rcpt,
        subject=str(msg.get("Subject", "")),
        html=str(html.get_content()) if html is not None else None,
        text=str(text.get_content()) if text is not None else None,
        attachments=files,
    )


class MailCatcher:
    """An aiosmtpd server keeping the last messages, and the WSGI app that lists them."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if port == 0:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.host, self.port = host, port
        self.messages: deque[CaughtMessage] = deque(maxlen=MAX_MESSAGES)
        self._lock = threading.Lock()
        self._next = 1
        self.controller = Controller(
            self, hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES
        )

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            msg_id, self._next = self._next, self._next + 1
        try:
            caught = parse_message(
                msg_id,
                str(envelope.mail_from),
                [str(r) for r in envelope.rcpt_tos],
                bytes(envelope.content),
                datetime.now(UTC),
            )
        except Exception:  # a malformed message is refused; the catcher goes on
            return "554 5.6.0 message not understood"
        with self._lock:
            self.messages.append(caught)
        return "250 2.0.0 caught"

    def start(self) -> MailCatcher:
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: every connection
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def snapshot(self) -> list[CaughtMessage]:
        with self._lock:
            return list(reversed(self.messages))

    def get(self, msg_id: int) -> CaughtMessage:
        for m in self.snapshot():
            if m.id == msg_id:
                return m
        abort(404)

    def app(self) -> Flask:
        """The page listing what was sent (``/``), each HTML body, text body and attachment."""
        app = Flask("fleet_monitor.mail_catcher")

        @app.after_request
        def _headers(response: Response) -> Response:
            response.headers.setdefault(
                "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"
            )
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["Referrer-Policy"] = "no-referrer"
            return response

        @app.get("/")
        def index() -> str:
            return render_template_string(LIST_HTML, messages=self.snapshot(), port=self.port)

        @app.get("/messages/<int:msg_id>.html")
        def html(msg_id: int) -> Response:
            m = self.get(msg_id)
            if m.html is None:
                abort(404)
            response = Response(m.html, mimetype="text/html")
            response.headers["Content-Security-Policy"] = HTML_CSP
            return response

        @app.get("/messages/<int:msg_id>.txt")
        def text(msg_id: int) -> Response:
            m = self.get(msg_id)
            if m.text is None:
                abort(404)
            return Response(m.text, mimetype="text/plain")

        @app.get("/messages/<int:msg_id>/attachments/<int:n>")
        def attachment(msg_id: int, n: int) -> Response:
            m = self.get(msg_id)
            if not 0 <= n < len(m.attachments):
                abort(404)
            name, kind, data = m.attachments[n]
            response = Response(data, mimetype=kind)
            safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:100]
            disposition = "inline" if kind == "application/pdf" else "attachment"
            response.headers["Content-Disposition"] = f'{disposition}; filename="{safe}"'
            return response

        return app


LIST_HTML = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Courriels envoyés (démo)</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1a1a1a; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #dde3ea; }
th { background: #e2e8ee; } .muted { color: #5a6570; font-size: .9em; }
</style></head>
<body>
<h1>Courriels envoyés par la démo / <span lang="en">Mail sent by the demo</span></h1>
<p class="muted">SMTP 127.0.0.1:{{ port }} · {{ messages|length }} message(s), les plus
récents d’abord / <span lang="en">newest first</span>. Rechargez la page /
<span lang="en">reload the page</span>.</p>
<table>
<thead><tr><th>#</th><th>Reçu / <span lang="en">Received</span> (UTC)</th>
<th>À / <span lang="en">To</span></th><th>Objet / <span lang="en">Subject</span></th>
<th>Contenu / <span lang="en">Content</span></th></tr></thead>
<tbody>
{% for m in messages %}
<tr data-message="{{ m.id }}">
  <td>{{ m.id }}</td>
  <td>{{ m.received_at.strftime("%Y-%m-%d %H:%M:%S") }}</td>
  <td>{{ m.recipients|join(", ") }}</td>
  <td>{{ m.subject }}</td>
  <td>{% if m.html is not none %}<a href="/messages/{{ m.id }}.html">HTML</a>{% endif %}
    {% if m.text is not none %} · <a href="/messages/{{ m.id }}.txt">texte</a>{% endif %}
    {% for name, kind, data in m.attachments %} ·
      <a href="/messages/{{ m.id }}/attachments/{{ loop.index0 }}">{{ name }}</a>
      <span class="muted">({{ (data|length / 1024)|round(1) }} kB)</span>{% endfor %}</td>
</tr>
{% else %}
<tr><td colspan="5">Aucun message pour l’instant / <span lang="en">No message yet</span>.</td></tr>
{% endfor %}
</tbody></table>
</body></html>
"""
