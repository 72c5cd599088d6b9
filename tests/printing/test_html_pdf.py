"""The shared HTML-to-PDF printer: deterministic, offline, readable pages."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

from fleet_monitor.printing.html_pdf import file_url, render_pdf
from tests.notices.pdfcheck import pdf_pages, pdf_text, tiny_png

CREATED = datetime(2026, 10, 6, 22, 0, tzinfo=UTC)


def _doc(body: str) -> str:
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Essai</title></head>'
        f'<body data-footer="Ville – essai">{body}</body></html>'
    )


def test_same_html_gives_same_bytes_and_french_text(tmp_path: Path) -> None:
    html = _doc("<h1>Avis de manquement</h1><p>Pénalité totale : 1 250,00 € « Le Pâquier »</p>")
    first = render_pdf(html, created=CREATED)
    assert first == render_pdf(html, created=CREATED)
    assert first != render_pdf(html, created=datetime(2026, 10, 7, tzinfo=UTC))
    text = pdf_text(first, tmp_path)
    assert "Pénalité totale : 1 250,00 €" in text
    assert "« Le Pâquier »" in text
    assert "Ville – essai · 1/1" in text  # the footer line with the page count
    assert len(pdf_pages(first, tmp_path)) == 1


def test_long_document_breaks_into_numbered_pages(tmp_path: Path) -> None:
    rows = "".join(f"<tr><td>{i}</td><td>véhicule {i}</td></tr>" for i in range(400))
    pdf = render_pdf(_doc(f'<table class="grid"><tbody>{rows}</tbody></table>'), created=CREATED)
    pages = pdf_pages(pdf, tmp_path)
    assert len(pages) > 3
    assert f"· {len(pages)}/{len(pages)}" in pdf_text(pdf, tmp_path)


class _Recorder(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_documents_fetch_nothing_from_the_network_or_outside_their_folders(
    tmp_path: Path,
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        secret = tmp_path / "outside" / "secret.png"
        secret.parent.mkdir()
        tiny_png(secret)
        (tmp_path / "logo").mkdir()
        logo = tiny_png(tmp_path / "logo" / "logo.png")
        hostile = (
            f'<img src="http://127.0.0.1:{port}/tracker.png">'
            f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">'
            f'<img src="{file_url(secret)}" alt="">'
            f'<img src="{file_url(logo)}" alt="logo">'
            "<p>Texte</p>"
        )
        pdf = render_pdf(_doc(hostile), created=CREATED, extra_roots=[logo.parent])
    finally:
        server.shutdown()
        server.server_close()
    assert _Recorder.hits == []
    assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf  # the logo, allowed
    assert pdf.count(b"/Subtype /Image") + pdf.count(b"/Subtype/Image") == 1
