"""station_status against station_information: what one names and the other lacks.

A status is stored onto the station row that ``station_information`` created
(position, name, capacity); a status whose station is absent from the
information cannot be placed, so its counts are not stored. Neither case is
silent (issue 13): each poll of ``station_status`` compares the two files and
records, in the fetch's findings,

* ``station.status_without_information`` (error: the records are not stored),
  with the number of statuses and a few of their ids;
* ``station.information_without_status`` (warning: those stations keep no
  counts from this poll), with the number of stations and a few ids;
* ``station.no_information_feed`` (error) when the operator has no
  ``station_information`` at all: no status can be stored.

Oslo Bysykkel's capture shows both cases (a 2022 station list against 2024
statuses: 16 statuses without a station, 21 stations without a status).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from datastore.connection import pg_connection
from gbfs_ingest.model import Finding, Station

__all__ = ["SAMPLE_IDS", "mismatch_findings", "no_information_finding"]

#: How many ids a finding quotes (the count says how many there are).
SAMPLE_IDS = 5
_PATH = "/data/stations/*/station_id"


def _sample(ids: Iterable[str]) -> str:
    ordered = sorted(ids)
    shown = ", ".join(repr(i) for i in ordered[:SAMPLE_IDS])
    return shown + (", …" if len(ordered) > SAMPLE_IDS else "")


def mismatch_findings(
    session: Session, information_feed_id: int, statuses: list[Station]
) -> list[Finding]:
    """Findings for the statuses without a station and the stations without a status."""
    cur = pg_connection(session).cursor()
    cur.execute("SELECT station_id FROM station WHERE feed_id = %s", (information_feed_id,))
    known = {row[0] for row in cur.fetchall()}
    published = {s.station_id for s in statuses}
    orphans = published - known
    silent = known - published
    out: list[Finding] = []
    if orphans:
        out.append(
            Finding(
                "error",
                "station.status_without_information",
                f"{len(orphans)} station statuses name a station absent from"
                f" station_information ({_sample(orphans)}): not stored (no position)",
                _PATH,
                len(orphans),
            )
        )
    if silent:
        out.append(
            Finding(
                "warning",
                "station.information_without_status",
                f"{len(silent)} stations of station_information have no status in this file"
                f" ({_sample(silent)}): their counts are not updated",
                _PATH,
                len(silent),
            )
        )
    return out


def no_information_finding(statuses: list[Station]) -> Finding:
    """The operator publishes statuses but no station_information: none can be stored."""
    return Finding(
        "error",
        "station.no_information_feed",
        f"no station_information known for this operator: {len(statuses)} station statuses"
        " not stored (no position)",
        _PATH,
        max(len(statuses), 1),
    )
