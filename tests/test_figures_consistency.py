"""Every figure shown in more than one place is equal there, to the unit and the definition.

A simulated day (Monday 2 November 2026, Europe/Paris) through the real ingest, the
rules, the notices, the statistics' aggregation and the daily report:

* trotti: six scooters all day against a cap of five (a cap breach), one in the
  lake (taken out at 14:00 local), one in a no-parking zone; polled every 10
  minutes from 03:00 to 17:00 local; a feed outage from 12:00 to 13:00 local (failed fetches);
* velo: three bikes, one leaves at 15:00 local; one fetch ``not_applied`` (a
  document not newer than the last one: a success by the one definition).

The figures compared, per operator (``FIGURES`` below lists them with their places):

========================== ======================================================
deployed_mean, max         daily report (JSON, CSV, HTML, PDF; the city's summary
                           HTML and PDF) = statistics (JSON report, API, CSV
                           export, page)
samples observed/expected  daily report (JSON, CSV) = statistics (API, CSV export)
fetches, successes, share  daily report (JSON, CSV, PDF) = statistics (API, CSV)
violations opened,         daily report (JSON, CSV: sum over rule types) =
uncertain, closed          statistics (API, CSV export)
idle vehicles, buckets     daily report (JSON, CSV, HTML) = statistics (API daily
                           idle row); both keyed lt_1d .. ge_14d
notices issued,            daily report (JSON, CSV) = statistics (API); the
acknowledged, response     response median in seconds (report) and hours (statistics)
median
open vehicle violations    daily report (open at the end of the day) = the map's
                           vehicles API (violations listed on its markers)
========================== ======================================================

Units: the report's idle median is in seconds, the statistics' in hours (0.01 h):
compared after conversion; everything else is compared as is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fleet_monitor.models.notices import Notice
from fleet_monitor.models.reports import DailyReport
from fleet_monitor.notices.actions import Actor, respond
from fleet_monitor.notices.jobs import plan
from fleet_monitor.reports import generate_day
from fleet_monitor.stats.aggregate import AggregateConfig, aggregate
from fleet_monitor.violations import sample_counts
from gbfs_ingest.store import record_fetch
from tests.notices.helpers import (
    NO_PARKING,
    STREET,
    T0,
    WATER,
    Feed,
    evaluate,
    settings_for,
    setup_city,
    vehicle_at,
)
from tests.notices.pdfcheck import pdf_text
from tests.web.conftest import make_app, signed_in

DAY = date(2026, 11, 2)
START = T0 - timedelta(hours=6)  # 03:00 local: the feeds are seen at the 03:30 idle sample
PERIOD = "period=2026-11-02"

# (figure, where it appears) — the test fails if any two places differ
FIGURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "deployed_mean",
        (
            "report.json",
            "report.csv",
            "report.html",
            "report.pdf",
            "city.html",
            "city.pdf",
            "stats.api",
            "stats.csv",
        ),
    ),
    (
        "deployed_max",
        (
            "report.json",
            "report.csv",
            "report.html",
            "report.pdf",
            "city.html",
            "city.pdf",
            "stats.api",
            "stats.csv",
        ),
    ),
    ("samples_observed", ("report.json", "report.csv", "stats.api", "stats.csv")),
    ("samples_expected", ("report.json", "report.csv", "stats.api", "stats.csv")),
    ("fetches", ("report.json", "report.csv", "stats.api", "stats.csv")),
    ("fetches_ok", ("report.json", "report.csv", "stats.api", "stats.csv")),
    ("fetch_success", ("report.json", "report.csv", "stats.api", "stats.csv")),
    ("violations_opened", ("report.json", "report.csv", "stats.api", "stats.csv")),
    ("violations_uncertain", ("report.json", "report.csv", "stats.api", "stats.csv")),
    ("violations_closed", ("report.json", "report.csv", "stats.api", "stats.csv")),
    ("idle_vehicles", ("report.json", "report.csv", "stats.api")),
    ("idle_buckets", ("report.json", "report.html", "stats.api")),
    ("idle_median_h", ("report.json", "stats.api")),
    ("notices_issued", ("report.json", "report.csv", "stats.api")),
    ("notices_acknowledged", ("report.json", "report.csv", "stats.api")),
    ("response_median_h", ("report.json", "stats.api")),
    ("open_vehicle_violations", ("report.json", "map.api")),
)

TROTTI = [vehicle_at("tw1", WATER), vehicle_at("tn1", NO_PARKING)] + [
    vehicle_at(f"ts{i}", STREET, east_m=100 * i) for i in range(4)
]
TROTTI_LATER = [vehicle_at("tw1", STREET, east_m=600), *TROTTI[1:]]
VELO = [vehicle_at(f"vb{i}", STREET, east_m=50 + 100 * i) for i in range(3)]


def simulate_day(engine: Engine, settings: Any) -> tuple[Feed, Feed]:
    setup_city(engine, ("trotti", "velo"))
    trotti = Feed(engine, "trotti", "Trotti")
    velo = Feed(engine, "velo", "Vélo")
    for step in range(0, 14 * 6 + 1):  # every 10 minutes, 02:00Z to 16:00Z
        at = START + timedelta(minutes=10 * step)
        if at == T0 + timedelta(hours=3):
            trotti.fail(at)
        elif T0 + timedelta(hours=3) < at < T0 + timedelta(hours=4):
            pass  # trotti's feed is down: nothing to poll
        else:
            if at == T0 + timedelta(hours=4):
                trotti.recover(at)
            # tw1 is taken out of the lake at 14:00 local: its violation closes
            trotti.poll(TROTTI if at < T0 + timedelta(hours=5) else TROTTI_LATER, at)
        fleet = VELO if at < T0 + timedelta(hours=6) else VELO[:2]
        velo.poll(fleet, at)
        if step == 49:  # a document not newer than the last one
            with Session(engine) as s, s.begin():
                record_fetch(
                    s,
                    velo.feed_id,
                    started_at=at + timedelta(minutes=5),
                    source="test",
                    outcome="not_applied",
                    http_status=200,
                    record_count=len(fleet),
                )
        if step % 6 == 0:
            with Session(engine) as s, s.begin():
                sample_counts(s, at)
            evaluate(engine, at + timedelta(seconds=30))
            if at == T0:
                plan(engine, settings, at + timedelta(minutes=1))
            if at == T0 + timedelta(hours=2):  # trotti acknowledges its first notice
                with Session(engine) as s, s.begin():
                    first = s.scalars(
                        select(Notice)
                        .where(Notice.operator_id == trotti.operator_id)
                        .order_by(Notice.id)
                    ).first()
                    assert first is not None
                    respond(s, first.id, "acknowledged", "on it", Actor("ops"), at)
    return trotti, velo


@pytest.fixture
def day(db_url: str, engine: Engine) -> Iterator[dict[str, Any]]:
    settings = settings_for(db_url)
    simulate_day(engine, settings)
    now = T0 + timedelta(days=1)
    aggregate(engine, AggregateConfig.from_settings(settings), until=now, days=[DAY])
    with Session(engine) as s, s.begin():
        generate_day(s, DAY, settings, now)
    with Session(engine) as s:
        reports = {
            r.subject: r for r in s.scalars(select(DailyReport).where(DailyReport.day == DAY))
        }
        for r in reports.values():
            s.expunge(r)
    app = make_app(db_url, engine)
    client = signed_in(app, engine, "officer@annecy.example", "officer")
    api = client.get(f"/api/stats?{PERIOD}&lang=en")
    assert api.status_code == 200, api.get_data(as_text=True)
    export = client.get(f"/stats/export.csv?{PERIOD}&lang=en")
    assert export.status_code == 200, export.get_data(as_text=True)
    page = client.get(f"/stats?{PERIOD}&lang=en")
    assert page.status_code == 200
    vehicles = client.get("/api/vehicles")
    assert vehicles.status_code == 200
    yield {
        "engine": engine,
        "reports": reports,
        "api": api.get_json(),
        "export": export.get_data(as_text=True),
        "page": page.get_data(as_text=True),
        "vehicles": vehicles.get_json(),
    }


# --------------------------------------------------------------------------- readers


def _report_csv(report: DailyReport) -> dict[tuple[str, str, str], str]:
    rows = csv.DictReader(io.StringIO(report.csv.decode("utf-8-sig")))
    return {(r["section"], r["metric"], r["key"]): r["value"] for r in rows}


def _row(section: dict[str, Any], slug: str, key: str = "rows") -> dict[str, Any]:
    return next(r for r in section[key] if r["operator"] == slug)


def _stats_csv(export: str) -> dict[tuple[str, str, str], str]:
    """(table, operator, metric) -> value of the long CSV export (per-operator tables)."""
    rows = csv.DictReader(io.StringIO(export.lstrip("\ufeff")))
    return {(r["table"], r["operator"], r["metric"]): r["value"] for r in rows if not r["key"]}


def _num(text_value: str) -> float:
    return float(text_value)


def report_places(report: DailyReport, tmp: Path) -> dict[str, dict[str, Any]]:
    d = report.data
    c = _report_csv(report)
    violations = d["violations"]
    vehicle_rules = {"in_water", "in_no_parking_area", "outside_operating_area"}
    json_figures = {
        "deployed_mean": d["fleet"]["deployed_mean"],
        "deployed_max": d["fleet"]["deployed_max"],
        "samples_observed": d["fleet"]["samples"],
        "samples_expected": d["fleet"]["samples_expected"],
        "fetches": d["feed"]["fetches"],
        "fetches_ok": d["feed"]["fetches_ok"],
        "fetch_success": d["feed"]["fetch_success"],
        "violations_opened": sum(v["opened"] for v in violations),
        "violations_uncertain": sum(v["opened_uncertain"] for v in violations),
        "violations_closed": sum(v["closed"] for v in violations),
        "idle_vehicles": d["idle"]["vehicles"],
        "idle_buckets": d["idle"]["buckets"],
        "idle_median_h": (
            None if d["idle"]["median_s"] is None else round(d["idle"]["median_s"] / 3600, 2)
        ),
        "notices_issued": d["notices"]["issued"],
        "notices_acknowledged": d["notices"]["acknowledged"],
        "response_median_h": (
            None
            if d["notices"]["response_median_s"] is None
            else round(d["notices"]["response_median_s"] / 3600, 2)
        ),
        "open_vehicle_violations": sum(
            v["open_at_end"] for v in violations if v["rule_type"] in vehicle_rules
        ),
    }
    rules = {k[2] for k in c if k[0] == "violations"}
    csv_figures = {
        "deployed_mean": _num(c[("fleet", "deployed_mean", "")]),
        "deployed_max": int(c[("fleet", "deployed_max", "")]),
        "samples_observed": int(c[("fleet", "samples", "")]),
        "samples_expected": int(c[("fleet", "samples_expected", "")]),
        "fetches": int(c[("feed", "fetches", "")]),
        "fetches_ok": int(c[("feed", "fetches_ok", "")]),
        "fetch_success": _num(c[("feed", "fetch_success", "")]),
        "violations_opened": sum(int(c[("violations", "opened", r)]) for r in rules),
        "violations_uncertain": sum(int(c[("violations", "opened_uncertain", r)]) for r in rules),
        "violations_closed": sum(int(c[("violations", "closed", r)]) for r in rules),
        "idle_vehicles": int(c[("idle", "vehicles", "")]),
        "notices_issued": int(c[("notices", "issued", "")]),
        "notices_acknowledged": int(c[("notices", "acknowledged", "")]),
    }
    html = report.html

    def field(name: str) -> float:
        m = re.search(rf'data-field="{name}" data-value="([^"]*)">([^<]*)<', html)
        assert m, name
        shown = _num(m.group(2).replace("\u202f", "").replace(",", "."))
        assert abs(shown - _num(m.group(1))) < 0.005, (name, m.groups())  # rounded text
        return _num(m.group(1))

    html_figures = {
        "deployed_mean": field("deployed_mean"),
        "deployed_max": int(field("deployed_max")),
        "idle_buckets": {k: int(v) for k, v in re.findall(r'data-bucket="([^"]+)">(\d+)<', html)},
    }
    text = " ".join(pdf_text(report.pdf, tmp).replace("\u202f", "").split())

    def printed(label: str) -> float:
        m = re.search(rf"{label} (\d+(?:,\d+)?)\b", text)
        assert m, (label, text[:3000])
        return _num(m.group(1).replace(",", "."))

    pdf_figures = {
        "deployed_mean": printed("Déployés, moyenne / Deployed, mean"),
        "deployed_max": int(printed("Déployés, max / Deployed, max")),
    }
    return {
        "report.json": json_figures,
        "report.csv": csv_figures,
        "report.html": html_figures,
        "report.pdf": pdf_figures,
    }


def city_places(city: DailyReport, slug: str, tmp: Path) -> dict[str, dict[str, Any]]:
    """The operator's line in the city's summary: e-mail body (exact values) and PDF
    (the mean rounded to 0.1, as printed)."""
    row = re.search(rf'<tr data-operator="{slug}".*?</tr>', city.html, re.S)
    assert row, slug
    mean = re.search(r'data-field="deployed_mean" data-value="([^"]*)"', row.group(0))
    top = re.search(r'data-field="deployed_max"[^>]*>([^<]*)<', row.group(0))
    assert mean and top
    name = city.data["operators"][[o["slug"] for o in city.data["operators"]].index(slug)]
    text = " ".join(pdf_text(city.pdf, tmp).replace("\u202f", "").split())
    line = re.search(rf"{re.escape(name['name'])} (?:\d+|—) (\d+(?:,\d)?) · (\d+)", text)
    assert line, (name, text)
    return {
        "city.html": {"deployed_mean": _num(mean.group(1)), "deployed_max": int(top.group(1))},
        "city.pdf": {
            "deployed_mean": _num(line.group(1).replace(",", ".")),
            "deployed_max": int(line.group(2)),
        },
    }


def stats_places(day: dict[str, Any], slug: str) -> dict[str, dict[str, Any]]:
    sections = day["api"]["sections"]
    fleet = _row(sections["fleet"], slug)
    feeds = _row(sections["feeds"], slug)
    viol = _row(sections["violations"], slug)
    idle = _row(sections["idle"], slug, "daily")
    notices = _row(sections["notices"], slug)
    api = {
        "deployed_mean": fleet["deployed_avg"],
        "deployed_max": fleet["deployed_max"],
        "samples_observed": fleet["samples_observed"],
        "samples_expected": fleet["samples_expected"],
        "fetches": feeds["fetches"],
        "fetches_ok": feeds["successes"],
        "fetch_success": feeds["success_share"],
        "violations_opened": viol["opened"],
        "violations_uncertain": viol["uncertain"],
        "violations_closed": viol["closed"],
        "idle_vehicles": idle["vehicles"],
        "idle_buckets": _row(sections["idle"], slug)["buckets"],
        "idle_median_h": idle["p50_h"],
        "notices_issued": notices["issued"],
        "notices_acknowledged": notices["acknowledged"],
        "response_median_h": notices["response_median_h"],
    }
    c = _stats_csv(day["export"])
    exported = {
        "deployed_mean": _num(c[("fleet", slug, "deployed_avg")]),
        "deployed_max": int(c[("fleet", slug, "deployed_max")]),
        "samples_observed": int(c[("fleet", slug, "samples_observed")]),
        "samples_expected": int(c[("fleet", slug, "samples_expected")]),
        "fetches": int(c[("feeds", slug, "fetches")]),
        "fetches_ok": int(c[("feeds", slug, "successes")]),
        "fetch_success": _num(c[("feeds", slug, "success_share")]),
        "violations_opened": int(c[("violations", slug, "opened")]),
        "violations_uncertain": int(c[("violations", slug, "uncertain")]),
        "violations_closed": int(c[("violations", slug, "closed")]),
    }
    return {"stats.api": api, "stats.csv": exported}


def map_places(day: dict[str, Any], slug: str) -> dict[str, dict[str, Any]]:
    features = [f for f in day["vehicles"]["features"] if f["properties"]["operator"] == slug]
    listed = sum(len(f["properties"].get("violations", [])) for f in features)
    return {"map.api": {"open_vehicle_violations": listed}}


# --------------------------------------------------------------------------- the test


@pytest.mark.slow
def test_every_shared_figure_is_equal_everywhere(day: dict[str, Any], tmp_path: Path) -> None:
    reports = day["reports"]
    assert set(reports) == {"*", "trotti", "velo"}
    compared = 0
    for slug in ("trotti", "velo"):
        places = {
            **report_places(reports[slug], tmp_path),
            **city_places(reports["*"], slug, tmp_path),
            **stats_places(day, slug),
            **map_places(day, slug),
        }
        for figure, where in FIGURES:
            values = {place: places[place][figure] for place in where}
            first = values[where[0]]
            # printed means are rounded (0.01 in the operator's PDF, 0.1 in the summary)
            tolerance = {"city.pdf": 0.05} if figure == "deployed_mean" else {}
            default = 0.005 if figure == "deployed_mean" else 0
            assert all(
                v == first or abs(v - first) <= tolerance.get(p, default) for p, v in values.items()
            ), (slug, figure, values)
            compared += len(where) - 1
    assert compared == 2 * sum(len(w) - 1 for _f, w in FIGURES)

    # the figures are the right ones, not only equal
    trotti, velo = reports["trotti"].data, reports["velo"].data
    # deployed: observed samples only (those before 09:00 and during the outage are
    # missing, not zero): six scooters whenever trotti's feed was seen
    assert trotti["fleet"]["deployed_mean"] == 6.0 and trotti["fleet"]["deployed_max"] == 6
    # the acknowledged notice: issued 09:01 local, answered at 11:00 local
    assert trotti["notices"]["acknowledged"] == 1
    assert 1.9 * 3600 < trotti["notices"]["response_median_s"] <= 2 * 3600
    assert 0 < trotti["fleet"]["samples"] < trotti["fleet"]["samples_expected"]
    assert trotti["fleet"]["samples_over_cap"] and trotti["fleet"]["samples_over_cap"] > 0
    assert 2.0 < velo["fleet"]["deployed_mean"] < 3.0
    # the not_applied fetch is a success in the report, the statistics and the rules
    assert velo["feed"]["fetches"] == velo["feed"]["fetches_ok"] == 14 * 6 + 2
    # trotti's failed fetch and its hour of outage
    assert trotti["feed"]["fetches"] - trotti["feed"]["fetches_ok"] == 1
    assert trotti["feed"]["outage_s"] == {"unavailable": 3600.0}
    # the cap breach and the parking violations are counted alike
    rules = {v["rule_type"] for v in trotti["violations"]}
    assert {"in_water", "in_no_parking_area"} <= rules
    assert sum(v["closed"] for v in trotti["violations"] if v["rule_type"] == "in_water") == 1
    assert any(v["rule_type"].startswith("fleet_cap") for v in trotti["violations"]), rules
    # one set of idle buckets, edges [lo, hi) in days
    keys = {"lt_1d", "1d_3d", "3d_7d", "7d_14d", "ge_14d"}
    assert set(trotti["idle"]["buckets"]) == keys  # (JSONB does not keep the key order)
    assert (
        day["api"]["sections"]["idle"]["rows"][0]["buckets"].keys()
        == trotti["idle"]["buckets"].keys()
    )
    # the PDFs show the same mean (compared above), in words a reader understands
    assert "Trotti (6 > 5)" in " ".join(pdf_text(reports["*"].pdf, tmp_path).split())
    # and the statistics page shows it too
    assert 'data-value="6.0"' in day["page"] or 'data-value="6"' in day["page"]


def test_one_list_of_outcomes_and_one_set_of_bucket_edges() -> None:
    """Every consumer reads the fetch outcomes and the idle edges from the definitions."""
    from fleet_monitor.history.definitions import (
        FETCH_SUCCESS_OUTCOMES,
        idle_bucket_index,
        idle_buckets,
        is_fetch_success,
    )
    from fleet_monitor.history.stays import SUCCESS_OUTCOMES
    from fleet_monitor.reports.figures import OK_OUTCOMES
    from fleet_monitor.stats.report import BUCKET_KEYS

    assert OK_OUTCOMES is FETCH_SUCCESS_OUTCOMES and SUCCESS_OUTCOMES is FETCH_SUCCESS_OUTCOMES
    assert is_fetch_success("not_applied") and not is_fetch_success("error")
    # [lo, hi): exactly one day parked is in 1d_3d, in the report and the statistics
    assert idle_buckets([0.5, 1.0, 2.99, 3.0, 14.0]) == {
        "lt_1d": 1,
        "1d_3d": 2,
        "3d_7d": 1,
        "7d_14d": 0,
        "ge_14d": 1,
    }
    assert list(idle_buckets([])) == list(BUCKET_KEYS)
    assert int(idle_bucket_index(24.0 / 24.0)) == 1
