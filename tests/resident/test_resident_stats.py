"""Residents' reports in the statistics (issue 15): per zone (districts and the city's
other zones, counted separately), per operator (of the nearest vehicle, else named),
per day, and the share matched; the same figures on the page, in the CSV, JSON,
XLSX and GeoJSON exports and the API; operator accounts count their own reports
only; shares are not given over fewer than 5 reports; no reporter data leaves."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import Engine

from fleet_monitor.stats.residents import MIN_REPORTS_FOR_SHARE, share
from tests.resident.test_resident_reports import fleets, post_form  # noqa: F401
from tests.web.conftest import LAT, LON, M_LAT, add_zone, signed_in

SECRET = "resident.private@example.org"


def square(lat: float, lon: float, half: float) -> str:
    return (
        f"POLYGON(({lon - half} {lat - half}, {lon + half} {lat - half},"
        f" {lon + half} {lat + half}, {lon - half} {lat + half}, {lon - half} {lat - half}))"
    )


@pytest.fixture
def reports(app: Flask, anon: FlaskClient, engine: Engine, fleets: None) -> str:  # noqa: F811
    """Five reports of today; returns the city's day."""
    app.config["FLEET_RESIDENT_REPORTS_PER_HOUR"] = 50
    add_zone(engine, "district", "Vieille ville", square(LAT, LON, 0.0012))
    add_zone(engine, "no_parking", "Quai interdit", square(LAT, LON, 0.0002))
    page = [
        {"lat": f"{LAT:.7f}", "lon": f"{LON:.7f}"},  # on T0: trott, district + no-parking
        {"lat": f"{LAT + 100 * M_LAT:.7f}", "lon": f"{LON:.7f}"},  # on T1: trott, district
        {"lat": f"{LAT + 0.02:.7f}", "lon": f"{LON:.7f}"},  # nothing near: no operator
        {"lat": f"{LAT + 0.03:.7f}", "lon": f"{LON:.7f}", "operator": "velo-lac"},  # named
    ]
    for fields in page:
        response = post_form(anon, contact_email=SECRET, **fields)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
    created = anon.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "abandoned",
            "lat": f"{LAT + 100 * M_LAT:.7f}",
            "long": f"{LON + 0.01:.7f}",  # on V1: velo-lac
            "email": SECRET,
        },
    )
    assert created.status_code == 200, created.get_data(as_text=True)
    return datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()


def by(rows: list[dict], key: str) -> dict:  # type: ignore[type-arg]
    return {r[key]: r for r in rows}


def test_the_section_counts_by_zone_operator_and_day(client: FlaskClient, reports: str) -> None:
    got = client.get(f"/api/stats/residents?period={reports}")
    assert got.status_code == 200
    section = got.get_json()["section"]
    rows = by(section["rows"], "operator")
    assert (rows["trott"]["reports"], rows["trott"]["matched"]) == (2, 2)
    assert (rows["velo-lac"]["reports"], rows["velo-lac"]["matched"]) == (2, 1)
    assert (rows["*"]["reports"], rows["*"]["matched"]) == (5, 3)
    assert rows["-"]["reports"] == 1  # neither matched nor named
    assert (rows["*"]["via_page"], rows["*"]["via_open311"]) == (4, 1)
    # shares: only over 5 reports or more
    assert rows["*"]["matched_share"] == 0.6
    assert rows["trott"]["matched_share"] is None and rows["velo-lac"]["matched_share"] is None
    zones = by(section["by_zone"], "name")
    assert zones["Vieille ville"]["reports"] == 2 and zones["Vieille ville"]["kind"] == "district"
    assert zones["Quai interdit"]["reports"] == 1 and zones["Quai interdit"]["kind"] == "no_parking"
    outside = [z for z in section["by_zone"] if z["zone_id"] == ""]
    assert [z["reports"] for z in outside] == [3]
    assert section["by_day"] == [{"day": reports, "reports": 5, "matched": 3}]
    assert section["coverage"]["reports"] == 5 and section["coverage"]["matched_share"] == 0.6
    assert section["coverage"]["statement"].endswith(": 3 (60,0 %)")  # French, the default
    assert SECRET not in got.get_data(as_text=True)
    assert "R-" not in got.get_data(as_text=True)  # no reference either


def test_page_and_exports_show_the_same_figures(client: FlaskClient, reports: str) -> None:
    html = client.get(f"/stats?period={reports}").get_data(as_text=True)
    section = html.split('id="fm-resident-reports"')[1].split("</section>")[0]
    assert re.search(
        r"<td>Vieille ville</td>\s*<td class=\"fm-num\" data-value=\"2\">2</td>", section
    )
    assert re.search(
        r"<td>Quai interdit</td>\s*<td class=\"fm-num\" data-value=\"1\">1</td>", section
    )
    assert 'data-operator="-"' in section and SECRET not in html

    raw = client.get(f"/stats/export.csv?period={reports}").get_data(as_text=True)
    lines = list(csv.reader(io.StringIO(raw.lstrip("\ufeff"))))
    assert ["residents_by_zone", "", "Vieille ville", "reports", "2"] in lines
    assert ["residents", "*", "", "matched", "3"] in lines
    assert ["residents", "*", "", "matched_share", "0.6"] in lines
    assert ["residents", "trott", "", "matched_share", ""] in lines  # 2 reports: no share
    assert ["residents_by_day", "", reports, "reports", "5"] in lines
    assert any(r[0] == "methodology" and r[3] == "residents" for r in lines)
    assert SECRET not in raw

    data = orjson.loads(client.get(f"/stats/export.json?period={reports}").data)
    assert by(data["sections"]["residents"]["rows"], "operator")["*"]["reports"] == 5
    assert "residents" in data["methodology"]

    book = load_workbook(io.BytesIO(client.get(f"/stats/export.xlsx?period={reports}").data))
    sheet = book["residents_by_zone"]
    header = [c.value for c in sheet[1]]
    values = [dict(zip(header, [c.value for c in r], strict=True)) for r in sheet.iter_rows(2)]
    assert {v["name"]: v["reports"] for v in values}["Vieille ville"] == 2

    geo = orjson.loads(client.get(f"/stats/export.geojson?period={reports}").data)
    (district,) = [f for f in geo["features"] if f["id"] == "Vieille ville"]
    assert district["properties"]["resident_reports"] == 2
    assert district["properties"]["resident_reports_matched"] == 2
    assert "residents" in geo["methodology"]


def test_an_operator_counts_its_own_reports_only(app: Flask, engine: Engine, reports: str) -> None:
    operator = signed_in(app, engine, "ops@trott.example", "operator", "trott")
    section = operator.get(f"/api/stats/residents?period={reports}").get_json()["section"]
    assert [r["operator"] for r in section["rows"]] == ["trott"]
    assert section["rows"][0]["reports"] == 2
    assert sum(z["reports"] for z in section["by_zone"] if z["kind"] == "district") == 2
    assert section["coverage"]["reports"] == 2
    assert section["coverage"]["statement"].endswith(": 2")  # no share over 2 reports
    # a staff member filtering on one zone gets that zone's reports only
    staff = signed_in(app, engine, "officer@annecy.example", "officer")
    zone = staff.get(f"/api/stats/residents?period={reports}&zone=Quai interdit").get_json()
    assert zone["section"]["coverage"]["reports"] == 1


def test_shares_need_enough_reports() -> None:
    assert MIN_REPORTS_FOR_SHARE == 5
    assert share(1, 1) is None and share(4, 4) is None
    assert share(3, 5) == 0.6 and share(0, 7) == 0.0
