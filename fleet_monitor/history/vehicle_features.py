"""The map's GeoJSON: one feature per vehicle, written once for the live and past views.

``/api/vehicles`` answers with vehicles as of now (:mod:`.vehicles`, from
``vehicle_current``) or as of a past time (:mod:`.vehicles_past`, from the stays
then). Both send the same feature, built here as one SQL expression over the
columns each query names (:class:`FeatureColumns`), and the same collection
around it (:func:`feature_collection_sql`).

The whole FeatureCollection is built by PostgreSQL in one query and sent as is:
no Python object per vehicle. A feature is concatenated text; only integers,
rounded numbers and formatted times go in raw, every string goes through
``to_json``, which escapes it. The property keys are constants written once
here; the operator's slug is encoded once per operator (``OPERATOR_JSON``), not
once per vehicle; numbers are rounded as numeric rounds them, through the
double itself where that gives the same digits (:func:`_rounded`,
:func:`_coordinate`). The text is the same, byte for byte, as that of one
``json_build_object`` per feature with ``round(x::numeric)`` for each number
(``"key" : value``, ``, `` between members, ``null`` for a missing value), which
looked up each value's type and printed each double for every vehicle
(``tests/web/test_vehicle_features.py`` compares the two on odd and hostile
values). Figures: bench/README.md, ``/api/vehicles``.

A vehicle with open (or held) violations gets ``violations``: [{id, rule_type,
status}] (the key is left out for the others: most of the fleet, and a smaller
body), aggregated once per vehicle in one grouped subquery and hash-joined as
``ov.items`` (the id is the violation's, which is what /cases/<id> routes by).
"""

from __future__ import annotations

from dataclasses import dataclass

# Every operator with its slug already encoded as JSON (``slug_json``): a handful
# of rows, encoded once (OFFSET 0 keeps the planner from encoding it per vehicle).
OPERATOR_JSON = "(SELECT id, slug, to_json(slug)::text AS slug_json FROM operator OFFSET 0)"

# Each vehicle's violations as a JSON array (text), in a grouped subquery aliased
# ``ov``: the text of ``json_agg(json_build_object('id', v.id, 'rule_type', ...))``,
# written as the features are (keys once, strings through to_json).
VIOLATION_ITEMS = (
    """'[' || string_agg('{"id" : ' || v.id"""
    """ || ', "rule_type" : ' || coalesce(to_json(v.rule_type)::text, 'null')"""
    """ || ', "status" : ' || coalesce(to_json(v.status)::text, 'null') || '}',"""
    """ ', ' ORDER BY v.id) || ']'"""
)


@dataclass(frozen=True)
class FeatureColumns:
    """SQL expressions (constants of the calling module, never data) for a feature."""

    vehicle_id: str
    lon: str
    lat: str
    gbfs_id: str
    state: str
    vehicle_type: str
    fuel_percent: str  # 0..1, or NULL::float8 where the history does not keep it
    range_m: str
    started_at: str  # the stay's start (parked since)
    start_confidence: str


def _string(expr: str) -> str:
    """A text value as a JSON string (escaped by PostgreSQL), or null."""
    return f"coalesce(to_json({expr})::text, 'null')"


def _rounded(expr: str) -> str:
    """A float8 rounded to an integer as a JSON number, or null.

    The text is that of ``round(x::numeric)`` as ``json_build_object`` writes it:
    raw when finite, as a string when NaN or infinite (not a JSON number). The
    conversion to numeric prints the double with 15 significant digits first
    (``%.15g``, ~1 us a value), so most values take a shortcut that gives the
    same integer: below 1e8 that printing is within 5e-8 of the double, so when
    the fraction is more than 1e-6 away from one half, rounding the double
    itself (``round(float8)``, ties to even: no tie here) lands on the same
    integer as rounding the printed value (ties away from zero). Half-way
    values, large ones, NaN and infinities go the numeric way.
    """
    x = f"({expr})"
    numeric = f"round({x}::numeric)"
    return (
        f"CASE WHEN {x} IS NULL THEN 'null'"
        f" WHEN abs({x}) < 1e8 AND abs(abs({x} - trunc({x})) - 0.5) > 1e-6"
        f" THEN round({x})::bigint::text"
        f" WHEN {x} - {x} = 0 THEN {numeric}::text"
        f" ELSE to_json({numeric}::text)::text END"
    )


def _coordinate(expr: str) -> str:
    """A float8 coordinate with 6 decimals, as ``round(x::numeric, 6)`` writes it.

    The same shortcut as :func:`_rounded`, on millionths: below 1000 the printed
    value is within 5e-13 of the double and ``x * 1e6`` within 6e-8 of its exact
    product, so when that product is more than 1e-5 away from a half, both round
    to the same integer of millionths, written here as ``[-]units.millionths``
    (no minus sign for zero, as numeric writes it). Other values go the numeric way.
    """
    m = f"round({expr} * 1e6)"
    return (
        f"CASE WHEN abs({expr}) < 1000"
        f" AND abs(abs({expr} * 1e6 - trunc({expr} * 1e6)) - 0.5) > 1e-5"
        f" THEN CASE WHEN {m} < 0 THEN '-' ELSE '' END || (abs({m})::bigint / 1000000)"
        f" || '.' || lpad((abs({m})::bigint % 1000000)::text, 6, '0')"
        f" ELSE round({expr}::numeric, 6)::text END"
    )


def feature_sql(c: FeatureColumns) -> str:
    """One vehicle's GeoJSON feature as text (the operator relation aliased ``o``)."""
    started = f"""to_char({c.started_at} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
    return (
        f"""'{{"type":"Feature","id":' || {c.vehicle_id}"""
        """ || ',"geometry":{"type":"Point","coordinates":['"""
        f" || {_coordinate(c.lon)} || ',' || {_coordinate(c.lat)} || ']}}'"
        """ || ',"properties":{"operator" : ' || o.slug_json"""
        f""" || ', "gbfs_id" : ' || {_string(c.gbfs_id)}"""
        f""" || ', "state" : ' || {_string(c.state)}"""
        f""" || ', "vehicle_type" : ' || {_string(c.vehicle_type)}"""
        f""" || ', "battery_pct" : ' || {_rounded(f"{c.fuel_percent} * 100")}"""
        f""" || ', "range_m" : ' || {_rounded(c.range_m)}"""
        f""" || ', "parked_since" : ' || coalesce('"' || {started} || '"', 'null')"""
        f""" || ', "parked_since_confidence" : ' || {_string(c.start_confidence)}"""
        """ || coalesce(',"violations":' || ov.items::text, '') || '}}'"""
    )


def feature_collection_sql(c: FeatureColumns, *, drawn: str, members: str = "") -> str:
    """The SELECT list of a FeatureCollection of the rows where ``drawn`` holds.

    ``:head`` (bound by the caller) holds foreign members put before
    ``features`` (JSON text ending with a comma); ``members``: SQL text of
    members after it (starting with a comma), e.g. a count over the same rows.
    """
    return (
        """'{"type":"FeatureCollection",' || :head || '"features":['"""
        f" || coalesce(string_agg({feature_sql(c)}, ',') FILTER (WHERE {drawn}), '')"
        f" || ']'{members} || '}}'"
    )
