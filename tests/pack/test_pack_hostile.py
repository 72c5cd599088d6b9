"""Operators' names and zone names are hostile input: in the pack's page (HTML and the
inline SVG charts and maps) they are text, never markup, and the PDF prints them as
they are."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from tests.notices.pdfcheck import pdf_text
from tests.pack import scenario
from tests.web.conftest import make_app, signed_in

HOSTILE_OPERATOR = '<script>alert(1)</script> "Vélos" & Co'
HOSTILE_ZONE = "<img src=x onerror=alert(2)>"


def test_hostile_names_are_text_in_the_page_and_the_pdf(
    pack_db: tuple[str, Engine, scenario.World], tmp_path: Path
) -> None:
    url, engine, _world = pack_db
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE operator SET name = :n WHERE slug = 'alpha'"), {"n": HOSTILE_OPERATOR}
        )
        conn.execute(
            text("UPDATE zone SET name = :n WHERE kind = 'district' AND operator IS NULL"),
            {"n": HOSTILE_ZONE},
        )
    app = make_app(url, engine)
    staff = signed_in(app, engine, "supervisor-hostile@annecy.example", "supervisor")
    response = staff.get("/stats/pack?period=2026-08..2026-09")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    article = html.split('<article class="pack">')[1].split("</article>")[0]
    assert "<script" not in article and "<img src=x" not in article
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in article  # the name, shown as text
    pdf = staff.get("/stats/pack.pdf?period=2026-08..2026-09")
    assert pdf.status_code == 200
    words = " ".join(pdf_text(pdf.data, tmp_path).split())
    assert "<script>alert(1)</script>" in words  # printed as text
