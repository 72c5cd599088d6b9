"""Exported violations (``fleet-monitor violations list --json`` / ``show``) carry the
nearest address of their position."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from tests.notices.helpers import (
    M_LAT,
    NO_PARKING,
    T0,
    WATER,
    Feed,
    evaluate,
    setup_city,
    vehicle_at,
)
from tests.rules_db.conftest import CliResult

HEADER = "id;numero;rep;nom_voie;code_postal;code_insee;nom_commune;lon;lat"


def test_violation_exports_name_the_nearest_address(
    cli: Callable[..., CliResult], engine: Engine, tmp_path: Path
) -> None:
    ban = tmp_path / "adresses-74.csv"
    ban.write_text(
        f"{HEADER}\n74010_0700_00015;15;;Rue de la Gare;74000;74010;Annecy;"
        f"{NO_PARKING[1]:.6f};{NO_PARKING[0] - 12 * M_LAT:.7f}\n",
        encoding="utf-8",
    )
    assert cli("addresses", "import", str(ban)).code == 0
    setup_city(engine)
    Feed(engine, "trotti", "Trotti").poll(
        [vehicle_at("tn1", NO_PARKING), vehicle_at("tw1", WATER)], T0
    )
    evaluate(engine, T0 + timedelta(seconds=30))
    res = cli("violations", "list", "--json")
    assert res.code == 0, res.err
    rows = {r["gbfs_id"]: r for r in json.loads(res.out)}
    assert rows["tn1"]["address"]["label"] == "15 Rue de la Gare, 74000 Annecy"
    assert rows["tn1"]["address"]["distance_m"] == 12
    assert rows["tw1"]["address"] is None  # in the middle of the water: none within 60 m
    shown = json.loads(cli("violations", "show", str(rows["tn1"]["id"])).out)
    assert shown["address"]["distance_m"] == 12
