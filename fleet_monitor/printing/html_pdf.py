"""HTML to PDF with WeasyPrint: deterministic bytes and no network access.

- **Deterministic.** The same HTML gives the same bytes: the creation and
  modification dates are the document's own date (``created``), never the
  time of rendering, and WeasyPrint's PDF identifier is derived from the
  content. An archived report can be regenerated and keeps its hash.
- **Offline and closed.** Documents carry operators' data, which is hostile
  input: Jinja autoescapes it, and the fetcher below is the second fence. It
  serves ``data:`` URIs and files under this package's ``static`` folder or a
  folder the caller names (the city's logo), and refuses everything else
  (http, ftp, other files) without any request: a remote image in a document
  would leak who reads it and when. Refusals are logged by WeasyPrint and
  the document is still produced.
- **Fonts.** DejaVu Sans (Debian's ``fonts-dejavu-core``, installed by
  ``scripts/setup.sh``) covers French, €, typographic quotes and arrows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

STATIC_DIR = Path(__file__).parent / "static"
PRINT_CSS = STATIC_DIR / "print.css"

log = logging.getLogger(__name__)


def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        """Serves ``data:`` URIs and files under ``roots``; refuses the rest unfetched."""

        def __init__(self, roots: Iterable[Path]) -> None:
            super().__init__(allowed_protocols=("data", "file"), allow_redirects=False)
            self._roots = [r.resolve() for r in roots]

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            parsed = urlparse(url)
            if parsed.scheme != "file":
                raise ValueError(f"documents fetch nothing from the network: {url[:80]!r}")
            path = Path(unquote(parsed.path)).resolve()
            if not any(path == r or r in path.parents for r in self._roots):
                raise ValueError(f"file outside the document folders: {url[:80]!r}")
            return super().fetch(url, headers)

    return LocalOnlyFetcher


def file_url(path: Path) -> str:
    """A ``file://`` URL for ``path`` (for ``<img src>`` of a logo or a static file)."""
    return path.resolve().as_uri()


def logo_file(logo_path: str | None) -> Path | None:
    """The city's logo (``[letterhead] logo_path``) if the file is there, resolved."""
    if not logo_path:
        return None
    path = Path(logo_path).resolve()
    return path if path.is_file() else None


def logo_url(logo_path: str | None) -> str | None:
    """The logo's ``file://`` URL for the document's ``<img>``; None without a logo file."""
    logo = logo_file(logo_path)
    return file_url(logo) if logo else None


def logo_roots(logo_path: str | None) -> list[Path]:
    """The folder ``render_pdf(extra_roots=...)`` must allow for the logo (none without)."""
    logo = logo_file(logo_path)
    return [logo.parent] if logo else []


def render_pdf(
    html: str,
    *,
    created: datetime,
    extra_roots: Iterable[Path] = (),
    stylesheets: Iterable[Path] = (PRINT_CSS,),
) -> bytes:
    """``html`` printed to PDF (A4, the shared print stylesheet), deterministically.

    ``created`` becomes the PDF's creation and modification date, so the bytes
    depend on the content only. Relative URLs resolve against ``static/``.
    """
    from weasyprint import CSS, HTML

    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    head = (
        f'<meta name="dcterms.created" content="{stamp}">'
        f'<meta name="dcterms.modified" content="{stamp}">'
        '<meta name="generator" content="fleet-monitor">'
    )
    html = html.replace("<head>", "<head>" + head, 1) if "<head>" in html else head + html
    roots = [STATIC_DIR, *extra_roots]
    fetcher = _fetcher_class()(roots)
    document = HTML(
        string=html, base_url=STATIC_DIR.as_uri() + "/", url_fetcher=fetcher, media_type="print"
    )
    sheets = [CSS(filename=str(s), url_fetcher=fetcher) for s in stylesheets]
    pdf = document.write_pdf(stylesheets=sheets, pdf_identifier=None)
    assert isinstance(pdf, bytes)
    return pdf
