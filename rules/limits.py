"""The bounds of every configuration value the rules accept, defined once.

Zones and permits are checked against these where they enter (the zone and
permit parsers, the command line) and again when the engine prepares them (a
value stored by an older version, or written straight into the database, is
skipped with a recorded error instead of halting the evaluation). Each bound
is generous for a real city and small enough that no evaluator, grid or
sampling loop can be driven into absurd sizes by it; see
docs/security.md ("Configuration inputs").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# --------------------------------------------------------------------------- zones

#: half-width (m) of a line zone (tram tracks) on each side of the line. A double
#: tram track with its clearance is about 7 m wide; 20 m on each side is already a
#: 40 m corridor. 0 is refused: a line buffered by 0 m has no area.
MAX_LINE_BUFFER_M = 20.0
#: vehicles a mandatory parking area holds
MAX_ZONE_CAPACITY = 10_000
#: characters of a zone id (ids are parts of violation keys: no '|', no control chars)
MAX_ZONE_ID_CHARS = 128
#: characters of a zone name kept (longer names are refused)
MAX_ZONE_NAME_CHARS = 200
#: coordinates of one zone geometry (a detailed lake shore has a few 10,000s)
MAX_ZONE_VERTICES = 500_000
#: size of a zones file read by the command line
MAX_ZONE_FILE_BYTES = 64 * 1024 * 1024
#: a zone farther than this from the city's area is "clearly outside" it
CITY_AREA_MARGIN_M = 20_000.0

# --------------------------------------------------------------------------- permits

MAX_PERMIT_VERSION = 1_000_000
#: fleet caps, zone caps and floors, parking share weights (vehicles)
MAX_VEHICLES = 1_000_000
#: GPS tolerance (m): beyond this every zone border is "uncertain"
MAX_GPS_TOLERANCE_M = 100.0
#: EUR per breach
MAX_PENALTY_EUR = 100_000.0
#: idle and disabled time limits
MAX_TIME_LIMIT = timedelta(days=365)
#: feed staleness allowed
MAX_STALENESS = timedelta(days=1)
#: notice deadlines
MAX_NOTICE_DEADLINE = timedelta(days=30)
#: count sampling interval: at least a minute (a day has at most 1,440 samples)
MIN_SAMPLE_INTERVAL = timedelta(minutes=1)
MAX_SAMPLE_INTERVAL = timedelta(days=1)
#: period summarised by a count finding
MAX_COUNT_WINDOW = timedelta(days=31)

# --------------------------------------------------------------------------- times

#: every date the rules take (permit and zone periods, evaluation times) lies in
#: [EARLIEST, LATEST): GBFS did not exist before, and datetime arithmetic near the
#: ends of Python's range (years 1 and 9999) overflows.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def in_time_range(value: datetime) -> bool:
    return EARLIEST <= value < LATEST
