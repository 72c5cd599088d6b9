"""``rules run`` and ``violations list|show`` from the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.rules_db.conftest import permit_toml
from tests.rules_db.fleet import Fleet, no_parking_square

T0 = datetime(2025, 6, 3, 8, 0, tzinfo=UTC)


def test_run_list_and_show(engine, cli) -> None:  # type: ignore[no-untyped-def]
    fleet = Fleet(engine, "trotti")
    other = Fleet(engine, "velo")
    fleet.zones([no_parking_square()], "no_parking", T0)
    for f in (fleet, other):
        f.permit(permit_toml(f.slug, prohibited=["no_parking"], max_idle="30m"))
    fleet.poll(T0, {"a": (50, 50), "b": (500, 500)})
    other.poll(T0, {"c": (60, 60)})
    res = cli("rules", "run", "--at", T0.isoformat())
    assert res.code == 0, res.out
    assert res.out.startswith("rules at 2025-06-03T08:00:00+00:00: 3 vehicles, 2 findings;")
    for minutes in (60, 61):  # "a" leaves
        fleet.poll(T0 + timedelta(minutes=minutes), {"b": (500, 500)})
        other.poll(T0 + timedelta(minutes=minutes), {"c": (60, 60)})

    res = cli("rules", "run", "--at", "2025-06-03T11:05:00+02:00")  # 09:05 UTC
    assert res.code == 0, res.out
    assert "2 vehicles, 3 findings; opened 2, updated 0, held 0, closed 1" in res.out
    res = cli("rules", "run", "--at", "2025-06-03T10:59")  # city time, before the last run
    assert res.code == 2 and "only move forward" in res.err

    text = cli("violations", "list").out.splitlines()
    assert text[-1] == "4 violations"  # a's no-parking one, closed when it left
    opened = cli("violations", "list", "--open", "--json").json()
    assert {(v["operator"], v["rule_type"], v["gbfs_id"]) for v in opened} == {
        ("trotti", "idle_too_long", "b"),
        ("velo", "idle_too_long", "c"),
        ("velo", "in_no_parking_area", "c"),
    }
    only = cli(
        "violations",
        "list",
        "--open",
        "--operator",
        "velo",
        "--rule",
        "in_no_parking_area",
        "--json",
    ).json()
    assert len(only) == 1 and only[0]["position"] is not None
    closed = [v for v in cli("violations", "list", "--json").json() if v["state"] == "closed"]
    assert [(v["gbfs_id"], v["closed_reason"]) for v in closed] == [("a", "vehicle_gone")]

    shown = cli("violations", "show", str(only[0]["id"]))
    assert shown.code == 0
    detail = shown.json()
    assert detail["timeline"][0]["kind"] == "opened"
    assert detail["evidence"]["opened"]["clause"] == "permit:velo:v1#in_no_parking_area"
    assert cli("violations", "show", "999999").code == 2
