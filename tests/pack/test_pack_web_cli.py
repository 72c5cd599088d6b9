"""The pack's staff page and PDF download (operator accounts get 403) and its command
line (bad arguments exit 2 and write nothing)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from fleet_monitor.cli import cli
from tests.notices.pdfcheck import pdf_pages, pdf_text
from tests.pack import scenario
from tests.web.conftest import make_app, signed_in

Db = tuple[str, Engine, scenario.World]


def audit_rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT details FROM audit_log WHERE event = 'stats.export' ORDER BY id"
        ).scalars()
        return [r if isinstance(r, dict) else json.loads(r) for r in rows]


def test_staff_page_pdf_and_operator_403(pack_db: Db, tmp_path: Path) -> None:
    url, engine, _world = pack_db
    app = make_app(url, engine)
    staff = signed_in(app, engine, "supervisor-pack@annecy.example", "supervisor")
    response = staff.get("/stats/pack?period=2026-08..2026-09")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Dossier de négociation des permis – août à septembre 2026" in html
    assert "Tableau de conformité – Alpha Vélos" in html and "dépassé" in html
    assert html.count("<svg") == 7  # 2 + 1 monthly, 2 quarterly, 2 maps
    assert "<script" not in html.split('<article class="pack">')[1].split("</article>")[0]
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # the charts' ids do not collide
    # the statistics page links to it
    assert "/stats/pack?period=" in staff.get("/stats?period=2026-09").get_data(as_text=True)
    # bad parameters: 400 with a message, never a 500
    bad = staff.get("/stats/pack?period=2026-Q5")
    assert bad.status_code == 400 and "2026-Q3" in bad.get_data(as_text=True)
    assert staff.get("/stats/pack?period=2026-09&operator=nobody").status_code == 400
    # the PDF: same content, recorded in the audit log
    before = len(audit_rows(engine))
    pdf = staff.get("/stats/pack.pdf?period=2026-Q3&operator=alpha")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "dossier-negociation-2026-Q3-alpha.pdf" in pdf.headers["Content-Disposition"]
    pages = pdf_pages(pdf.data, tmp_path)
    assert len(pages) == 7  # cover, 1 scorecard, 2 trend pages, 2 maps, methods
    first = " ".join(pdf_text(pdf.data, tmp_path).split("\f")[0].split())
    assert "3e trimestre 2026" in first and "Alpha Vélos a dépassé son plafond" in first
    logged = audit_rows(engine)[before:]
    assert len(logged) == 1
    assert logged[0]["format"] == "pack" and logged[0]["operator"] == "alpha"
    assert logged[0]["period"] == "2026-Q3" and logged[0]["via"] == "web"
    # an operator's account: 403 on the page and the PDF, no link on the statistics page
    operator = signed_in(app, engine, "ops-pack@alpha.example", "operator", "alpha")
    assert operator.get("/stats/pack?period=2026-09").status_code == 403
    assert operator.get("/stats/pack.pdf?period=2026-09").status_code == 403
    assert "/stats/pack" not in operator.get("/stats?period=2026-09").get_data(as_text=True)
    assert len(audit_rows(engine)) == before + 1


@pytest.mark.parametrize(
    "args",
    [
        ["--period", "2026-13"],
        ["--period", "2026-Q3", "--operator", "nobody"],
        ["--period", "2026-10..2026-01"],
        ["--period", "2026-Q3", "--out", "/nonexistent-folder/pack.pdf"],
    ],
)
def test_cli_bad_arguments_exit_2_and_write_nothing(
    pack_db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    url, engine, _world = pack_db
    monkeypatch.setenv("DATABASE_URL", url)
    config = tmp_path / "config.toml"
    config.write_text("")
    out = tmp_path / "out" / "pack.pdf"
    out.parent.mkdir()
    if "--out" not in args:
        args = [*args, "--out", str(out)]
    before = len(audit_rows(engine))
    result = CliRunner().invoke(cli, ["--config", str(config), "stats", "pack", *args])
    assert result.exit_code == 2, result.output
    assert list(out.parent.iterdir()) == []
    assert len(audit_rows(engine)) == before


def test_cli_writes_the_pack(pack_db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, engine, _world = pack_db
    monkeypatch.setenv("DATABASE_URL", url)
    config = tmp_path / "config.toml"
    config.write_text("")
    out = tmp_path / "pack.pdf"
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(config),
            "stats",
            "pack",
            "--period",
            "2026-08..2026-09",
            "--out",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert len(pdf_pages(out.read_bytes(), tmp_path)) == 8
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".pack-")) == []
    logged = audit_rows(engine)[-1]
    assert logged["format"] == "pack" and logged["via"] == "cli" and logged["file"] == "pack.pdf"
