"""The map's GeoJSON text (``history.vehicle_features``) against ``json_build_object``.

The feature is concatenated text with shortcuts for rounding (see the module). Its
text must stay that of the straightforward query it replaced: one
``json_build_object`` per feature and ``round(x::numeric)`` for every number. Both
run here over the same rows, odd and hostile values included (half-way numbers,
NaN and infinities, negative zero, NULLs, quotes, backslashes, control
characters, ``</script>``, U+2028), live and past.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fleet_monitor.history.vehicles import current_vehicles_geojson
from fleet_monitor.history.vehicles_past import past_vehicles_geojson
from fleet_monitor.models.rules import Violation
from tests.web.conftest import T0, Fleet, vehicles

# The reference: each feature through json_build_object, every number through numeric.
REFERENCE_FEATURE = """
'{"type":"Feature","id":' || {p}vehicle_id
|| ',"geometry":{"type":"Point","coordinates":['
|| round({p}lon::numeric, 6) || ',' || round({p}lat::numeric, 6) || ']}'
|| ',"properties":' || left(json_build_object(
     'operator', o.slug, 'gbfs_id', {p}gbfs_id, 'state', {p}state,
     'vehicle_type', {p}vehicle_type_id,
     'battery_pct', round(({fuel} * 100)::numeric), 'range_m', round({range}::numeric),
     'parked_since', to_char(d.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
     'parked_since_confidence', d.start_confidence)::text, -1)
|| coalesce(',"violations":' || ov.items::text, '') || '}}'
"""


def reference_feature(p: str, fuel: str, range_m: str) -> str:
    return REFERENCE_FEATURE.replace("{p}", p).replace("{fuel}", fuel).replace("{range}", range_m)


REFERENCE_VIOLATIONS = """
LEFT JOIN (
    SELECT v.vehicle_id, v.operator,
           json_agg(json_build_object('id', v.id, 'rule_type', v.rule_type, 'status', v.status)
                    ORDER BY v.id) AS items
    FROM violation v WHERE v.state IN ('open', 'held') AND v.vehicle_id IS NOT NULL
    GROUP BY v.vehicle_id, v.operator
) ov ON ov.vehicle_id = {p}vehicle_id AND ov.operator = o.slug
"""

REFERENCE_LIVE = (
    "SELECT string_agg("
    + reference_feature("vc.", "vc.fuel_percent", "vc.range_m")
    + ", ',' ORDER BY vc.vehicle_id) FROM vehicle_current vc"
    " JOIN operator o ON o.id = vc.operator_id LEFT JOIN dwell d ON d.id = vc.dwell_id"
    + REFERENCE_VIOLATIONS.replace("{p}", "vc.")
    + " WHERE vc.lat IS NOT NULL AND vc.lon IS NOT NULL"
)
REFERENCE_PAST = (
    "SELECT string_agg("
    + reference_feature("d.", "NULL::float8", "NULL::float8")
    + ", ',' ORDER BY d.vehicle_id) FROM dwell d JOIN operator o ON o.id = d.operator_id"
    + REFERENCE_VIOLATIONS.replace("{p}", "d.").replace(
        "v.state IN ('open', 'held')", "v.opened_at <= :at"
    )
    + " WHERE d.started_at <= :at AND (d.ended_at IS NULL OR d.ended_at > :at)"
    " AND d.lat IS NOT NULL AND d.lon IS NOT NULL"
)

ODD_NUMBERS = [
    # (lat, lon, fuel_percent, range_m)
    (45.1234565, 6.1234565, 0.425, 12_000.5),  # half-way: numeric rounds away from zero
    (-45.0000005, -179.9999995, 0.015, -0.5),
    (0.0, -0.0000001, 0.0, -0.3),  # rounds to zero: no minus sign
    (0.4999995, -0.5, 1.0, 99_999_999.5),
    (89.99999949999999, 179.99999950000001, 0.004999999999999999, 1e8 + 0.5),
    (45.899247, 6.129384, None, None),
    (1e6, -1e6, 1e300, -1e300),
    ("NaN", "Infinity", "NaN", "Infinity"),
    (45.9, 6.13, "-Infinity", "NaN"),
]
ODD_STRINGS = ['q"uote', "back\\slash", "</script><b>", "line\u2028sep", "tab\there", "ctl\x01x"]


@pytest.fixture
def odd_fleet(engine: Engine) -> None:
    """V0-V8: odd numbers; V9-V14: odd strings; V15: listed without a position."""
    fleet = Fleet(engine, "odd", "Odd")
    fleet.poll(vehicles(len(ODD_NUMBERS) + len(ODD_STRINGS) + 1, "V"), T0)
    with engine.begin() as conn:
        for i, (lat, lon, fuel, range_m) in enumerate(ODD_NUMBERS):
            for table in ("vehicle_current", "dwell"):
                conn.execute(
                    text(
                        f"UPDATE {table} SET lat = CAST(:lat AS float8),"
                        " lon = CAST(:lon AS float8) WHERE gbfs_id = :g"
                    ),
                    {"lat": lat, "lon": lon, "g": f"V{i}"},
                )
            conn.execute(
                text(
                    "UPDATE vehicle_current SET fuel_percent = CAST(:f AS float8),"
                    " range_m = CAST(:r AS float8) WHERE gbfs_id = :g"
                ),
                {"f": fuel, "r": range_m, "g": f"V{i}"},
            )
        for i, odd in enumerate(ODD_STRINGS, start=len(ODD_NUMBERS)):
            for table in ("vehicle_current", "dwell"):
                conn.execute(
                    text(
                        f"UPDATE {table} SET gbfs_id = :odd, vehicle_type_id = :odd"
                        " WHERE gbfs_id = :g"
                    ),
                    {"odd": f"V{i}{odd}", "g": f"V{i}"},
                )
        conn.execute(text("UPDATE vehicle_current SET vehicle_type_id = NULL WHERE gbfs_id = 'V1'"))
        last = f"V{len(ODD_NUMBERS) + len(ODD_STRINGS)}"
        conn.execute(
            text("UPDATE vehicle_current SET lat = NULL, lon = NULL WHERE gbfs_id = :g"),
            {"g": last},
        )
        rows = conn.execute(text("SELECT gbfs_id, vehicle_id FROM vehicle_current")).all()
    vehicle_ids = dict(rows)
    quoted = f"V{len(ODD_NUMBERS)}{ODD_STRINGS[0]}"
    with Session(engine) as s, s.begin():
        for key, (prefix, rule, state) in enumerate(
            [("V0", "in_water", "open"), ("V0", 'odd"rule\\', "held"), (quoted, "idle", "open")]
        ):
            s.add(
                Violation(
                    key=f"k{key}",
                    rule_type=rule,
                    operator="odd",
                    subject_kind="vehicle",
                    subject=prefix,
                    vehicle_id=vehicle_ids[prefix],
                    gbfs_id=prefix,
                    state=state,
                    status="violation",
                    opened_at=T0,
                    since=T0,
                    last_seen_at=T0,
                    unit="m",
                    clause="§",
                    confidence=1.0,
                )
            )


def features_text(collection: str) -> str:
    start = collection.index('"features":[') + len('"features":[')
    return collection[start : collection.rindex("]")]


def sorted_by_id(features: str) -> list[str]:
    # each feature starts with '{"type":"Feature","id":N,' (N: the vehicle id)
    parts = [p.removesuffix(",") for p in features.split('{"type":"Feature","id":')[1:]]
    return sorted(parts, key=lambda p: int(p.split(",", 1)[0]))


@pytest.mark.usefixtures("odd_fleet")
def test_the_feature_text_is_that_of_json_build_object(engine: Engine) -> None:
    with engine.connect() as conn:
        live = current_vehicles_geojson(
            conn, operator=None, scope=None, states=None, parked_before=None, head='"x":1,'
        )
        reference = conn.execute(text(REFERENCE_LIVE)).scalar_one()
        at = T0 + timedelta(seconds=30)
        past = past_vehicles_geojson(
            conn, at=at, operator=None, scope=None, states=None, parked_before=None
        )
        reference_past = conn.execute(text(REFERENCE_PAST), {"at": at}).scalar_one()
    assert live.startswith('{"type":"FeatureCollection","x":1,"features":[{')
    assert live.endswith('}],"positionless":1}')
    assert sorted_by_id(features_text(live)) == sorted_by_id(reference)
    assert len(sorted_by_id(reference)) == len(ODD_NUMBERS) + len(ODD_STRINGS)
    assert '"gbfs_id" : "V9q\\"uote"' in live  # escaped, not raw
    assert '"gbfs_id" : "V14ctl\\u0001x"' in live
    assert '"battery_pct" : 43, "range_m" : 12001' in live  # half-way: away from zero
    assert '"battery_pct" : "NaN", "range_m" : "Infinity"' in live  # not JSON numbers
    assert '"rule_type" : "odd\\"rule\\\\"' in live
    assert live.count('"violations":') == 2
    assert past.endswith("]}")
    assert sorted_by_id(features_text(past)) == sorted_by_id(reference_past)
