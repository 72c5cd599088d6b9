"""Import the national address base (BAN) from its CSV format.

The BAN publishes one file per département (``adresses-74.csv``): UTF-8,
``;``-separated, one address point per line, columns ``id;id_fantoir;numero;
rep;nom_voie;code_postal;code_insee;nom_commune;code_insee_ancienne_commune;
nom_ancienne_commune;x;y;lon;lat;...`` (extra columns are ignored, their order
may change: columns are found by name in the header).

The file is hostile input, checked where it enters:

* a bad **file** (unreadable, not UTF-8, no header with the required columns,
  not ``;``-separated, no valid row at all) raises :class:`AddressFileError`:
  the caller rolls back, nothing is written (the CLI exits 2);
* a bad **row** (wrong number of fields, a missing or malformed id, number,
  postcode, INSEE code or coordinate, a name with control characters or too
  long, a duplicated id) is dropped and counted by reason, with the first line
  numbers as examples.

Storing: rows are streamed (``COPY``) into a temporary table, then upserted by
BAN id. The file is the truth for the communes it lists: their addresses that
are no longer in the file are deleted (a renumbered street loses its old
numbers); other communes' addresses are kept. Everything happens in the
caller's transaction.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.orm import Session

REQUIRED = ("id", "numero", "rep", "nom_voie", "code_postal", "code_insee", "nom_commune")
COORDS = ("lon", "lat")
OPTIONAL = ("code_insee_ancienne_commune", "nom_ancienne_commune")
MAX_LINE_CHARS = 4096
MAX_NAME_CHARS = 200
MAX_EXAMPLES = 5

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NUMBER = re.compile(r"[0-9]{1,5}")
_SUFFIX = re.compile(r"[A-Za-z0-9 ]{0,16}")
_POSTCODE = re.compile(r"[0-9]{5}")
_INSEE = re.compile(r"[0-9][0-9AB][0-9]{3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_COLUMNS = (
    "ban_id, number, suffix, street, postcode, insee_code, commune_name, "
    "former_insee_code, former_commune_name, lon, lat"
)


class AddressFileError(ValueError):
    """The file as a whole is unusable: nothing is written."""


class RowError(ValueError):
    """One row is unusable: it is dropped, counted under this reason."""


@dataclass
class ImportResult:
    read: int = 0
    imported: int = 0
    removed: int = 0
    communes: set[str] = field(default_factory=set)
    dropped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=dict)

    def drop(self, reason: str, line: int) -> None:
        self.dropped[reason] += 1
        lines = self.examples.setdefault(reason, [])
        if len(lines) < MAX_EXAMPLES:
            lines.append(line)


Row = tuple[str, int | None, str, str, str, str, str, str, str, float, float]


def _name(value: str, what: str, *, required: bool) -> str:
    value = value.strip()
    if not value and required:
        raise RowError(f"empty {what}")
    if len(value) > MAX_NAME_CHARS:
        raise RowError(f"{what} too long")
    if _CONTROL.search(value):
        raise RowError(f"control characters in {what}")
    return value


def _coordinate(value: str, what: str, limit: float) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise RowError(f"{what} not a number") from None
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise RowError(f"{what} out of range")
    return number


def parse_row(fields: dict[str, str]) -> Row:
    """One checked address row (``RowError`` names what is wrong)."""
    ban_id = fields["id"].strip()
    if not _ID.fullmatch(ban_id):
        raise RowError("bad id")
    raw_number = fields["numero"].strip()
    if raw_number and not _NUMBER.fullmatch(raw_number):
        raise RowError("bad numero")
    suffix = fields["rep"].strip()
    if not _SUFFIX.fullmatch(suffix):
        raise RowError("bad rep")
    postcode = fields["code_postal"].strip()
    if not _POSTCODE.fullmatch(postcode):
        raise RowError("bad code_postal")
    insee = fields["code_insee"].strip().upper()
    if not _INSEE.fullmatch(insee):
        raise RowError("bad code_insee")
    former_insee = fields.get("code_insee_ancienne_commune", "").strip().upper()
    if former_insee and not _INSEE.fullmatch(former_insee):
        raise RowError("bad code_insee_ancienne_commune")
    return (
        ban_id,
        int(raw_number) if raw_number else None,
        suffix,
        _name(fields["nom_voie"], "nom_voie", required=True),
        postcode,
        insee,
        _name(fields["nom_commune"], "nom_commune", required=True),
        former_insee,
        _name(fields.get("nom_ancienne_commune", ""), "nom_ancienne_commune", required=False),
        _coordinate(fields["lon"], "lon", 180.0),
        _coordinate(fields["lat"], "lat", 90.0),
    )


def _header(line: str) -> list[str]:
    names = [n.strip().lower() for n in line.lstrip("\ufeff").rstrip("\r\n").split(";")]
    missing = [c for c in (*REQUIRED, *COORDS) if c not in names]
    if len(names) < 2:
        raise AddressFileError(
            "not a BAN CSV file: the header is not ';'-separated "
            f"(expected columns {';'.join(REQUIRED + COORDS)})"
        )
    if missing:
        raise AddressFileError(f"not a BAN CSV file: missing columns {', '.join(missing)}")
    if len(set(names)) != len(names):
        raise AddressFileError("not a BAN CSV file: a column name is repeated in the header")
    return names


def read_rows(stream: IO[str], result: ImportResult) -> Iterator[Row]:
    """Checked rows of a BAN CSV text stream; bad rows are counted in ``result``."""
    try:
        first = stream.readline()
    except UnicodeDecodeError:
        raise AddressFileError("not UTF-8 text") from None
    if not first.strip():
        raise AddressFileError("empty file (no header line)")
    names = _header(first)
    seen: set[str] = set()
    line_no = 1
    while True:
        try:
            line = stream.readline()
        except UnicodeDecodeError:
            raise AddressFileError(f"not UTF-8 text (after line {line_no})") from None
        if not line:
            return
        line_no += 1
        if not line.strip():
            continue
        result.read += 1
        if len(line) > MAX_LINE_CHARS:
            result.drop("line too long", line_no)
            continue
        try:
            values = next(csv.reader([line.rstrip("\r\n")], delimiter=";", quotechar='"'))
        except csv.Error:
            result.drop("unreadable CSV line", line_no)
            continue
        if len(values) != len(names):
            result.drop("wrong number of fields", line_no)
            continue
        try:
            row = parse_row(dict(zip(names, values, strict=True)))
        except RowError as exc:
            result.drop(str(exc), line_no)
            continue
        if row[0] in seen:
            result.drop("duplicate id", line_no)
            continue
        seen.add(row[0])
        yield row


def import_addresses(session: Session, path: Path) -> ImportResult:
    """Import a BAN CSV file in the caller's transaction (``AddressFileError``: write nothing)."""
    result = ImportResult()
    try:
        stream = path.open(encoding="utf-8", errors="strict", newline="")
    except OSError as exc:
        raise AddressFileError(f"cannot read: {exc.strerror}") from None
    with stream:
        if not path.is_file():
            raise AddressFileError("not a regular file")
        conn = session.connection()
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE address_import ("
            " ban_id text, number integer, suffix text, street text, postcode text,"
            " insee_code text, commune_name text, former_insee_code text,"
            " former_commune_name text, lon float8, lat float8) ON COMMIT DROP"
        )
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY address_import ({_COLUMNS}) FROM STDIN") as cp:
            for row in read_rows(stream, result):
                cp.write_row(row)
                result.communes.add(row[5])
    if not result.communes:
        raise AddressFileError(
            f"no valid address in the file ({result.read} rows read, all dropped)"
            if result.read
            else "no address rows after the header"
        )
    result.removed = conn.execute(
        text(
            "DELETE FROM address a WHERE a.insee_code IN (SELECT DISTINCT insee_code FROM"
            " address_import) AND NOT EXISTS (SELECT 1 FROM address_import i"
            " WHERE i.ban_id = a.ban_id)"
        )
    ).rowcount
    result.imported = conn.execute(
        text(
            f"INSERT INTO address ({_COLUMNS.replace('lon, lat', 'geog')}, imported_at)"
            " SELECT ban_id, number, suffix, street, postcode, insee_code, commune_name,"
            " former_insee_code, former_commune_name,"
            " ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, now() FROM address_import"
            " ON CONFLICT (ban_id) DO UPDATE SET number = EXCLUDED.number,"
            " suffix = EXCLUDED.suffix, street = EXCLUDED.street,"
            " postcode = EXCLUDED.postcode, insee_code = EXCLUDED.insee_code,"
            " commune_name = EXCLUDED.commune_name,"
            " former_insee_code = EXCLUDED.former_insee_code,"
            " former_commune_name = EXCLUDED.former_commune_name,"
            " geog = EXCLUDED.geog, imported_at = now()"
        )
    ).rowcount
    conn.exec_driver_sql("DROP TABLE address_import")
    return result
