"""Every figure shown in more than one place, defined once: its method and coverage.

The daily compliance report (:mod:`fleet_monitor.reports.figures`), the statistics
(:mod:`fleet_monitor.stats`: page, API, exports, PDF), the health page, the rules'
count samples and the notices call these constants and functions; none of them
restates a list of outcomes, a bucket edge or an average rule of its own.
``tests/test_figures_consistency.py`` checks that the places agree.

Decisions (and why):

* **Fetch success** includes ``not_applied``: the feed answered with a valid
  document that was not newer than the last one stored. The operator published;
  the state we hold is still its latest, exactly as for ``unchanged`` and a 304.
  Counting it as a failure would blame the operator for our poll being early.
* **Deployed vehicles** are counted on the 5-minute grid of the local day from the
  stays (:mod:`fleet_monitor.stats.dayfleet`) and averaged over the *observed*
  samples only (:func:`fleet_monitor.stats.series.summarise`): a sample with no
  data (before the operator's feed first answered, in an outage, with no fresh
  fetch) is missing, not zero. The share of samples observed is the coverage
  and is always shown beside the mean. The daily report takes these figures from
  the same computation (:mod:`fleet_monitor.stats.day_figures`); the permit's cap
  samples (``count_sample``) only say how many samples were over the cap. (The
  report used to average its cap samples, those taken before the service started
  as zeros: 242.58 instead of 534.)
* **Idle distribution**: the daily idle sample (03:30 local, the CROW method) of the
  rentable vehicles, parked-since followed back through changes of state in place;
  the daily report shows the same sample. **Idle buckets** are half-open on the
  right, ``[lo, hi)`` in days, with the CROW steps 1, 3, 7 and 14 days: a vehicle
  parked exactly 24 h is in ``1d_3d``.
  (The report said ``lt_1d``, the statistics ``le_1d``: one vehicle, two buckets.)
* **Violations opened** in a period: findings whose ``opened_at`` is in it,
  *whatever their status*; ``uncertain`` ones (partial data) are a part of that
  count, shown beside it. **Open** at an instant: opened before it and not closed
  at it (held ones included: a feed outage does not end a violation).
* **Fetch outcomes** answer three questions, each with its list: did the feed
  answer (``FETCH_SUCCESS_OUTCOMES``: availability), does the fetch confirm the
  stored state at its time (``CONFIRMING_OUTCOMES``: notice checks), does its
  stored body show that state (``EVIDENCE_OUTCOMES``: evidence cited).
* **Response time** of a notice: ``responded_at - coalesce(sent_at, issued_at)``,
  over the notices *issued* in the period (not drafts or cancelled ones); the
  median is the nearest-rank median.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Definition:
    """A shown quantity: its key, unit, counting method and what its coverage is."""

    key: str
    unit: str
    method: str
    coverage: str


#: outcomes of a fetch that count as a success (the feed answered with usable data)
FETCH_SUCCESS_OUTCOMES: tuple[str, ...] = ("ok", "unchanged", "not_modified", "not_applied")

#: outcomes of a fetch that confirms the stored state as of its time (a 304 included:
#: nothing changed; not ``not_applied``: that document's data is older than its fetch)
CONFIRMING_OUTCOMES: tuple[str, ...] = ("ok", "unchanged", "not_modified")

#: outcomes of a fetch whose stored body shows the state as stored: the evidence a
#: violation cites (a 304 has no body; a ``not_applied`` body is not newer than the
#: state). A different question from "did the feed answer", hence a different list.
EVIDENCE_OUTCOMES: tuple[str, ...] = ("ok", "unchanged")

#: vehicle states that count as deployed on the street
DEPLOYED_STATES: tuple[str, ...] = ("available", "reserved", "disabled")

#: the edges of the idle-time buckets, in days (CROW steps); buckets are [lo, hi)
IDLE_BUCKET_DAYS: tuple[int, ...] = (1, 3, 7, 14)
#: the keys of the idle buckets, in order: [0, 1), [1, 3), [3, 7), [7, 14), [14, inf)
IDLE_BUCKET_KEYS: tuple[str, ...] = ("lt_1d", "1d_3d", "3d_7d", "7d_14d", "ge_14d")
IDLE_BUCKETS: tuple[tuple[str, float, float], ...] = tuple(
    (key, lo, hi)
    for key, lo, hi in zip(
        IDLE_BUCKET_KEYS, (0, *IDLE_BUCKET_DAYS), (*IDLE_BUCKET_DAYS, math.inf), strict=True
    )
)

DEFINITIONS: dict[str, Definition] = {
    d.key: d
    for d in (
        Definition(
            "deployed_mean",
            "vehicles",
            "samples every 5 minutes (stats.sample_interval_s) around the clock; mean over"
            " the observed samples of the vehicles available, reserved or disabled",
            "observed samples / expected samples",
        ),
        Definition(
            "fetch_success",
            "share",
            f"fetches with outcome in {', '.join(FETCH_SUCCESS_OUTCOMES)} / fetches started",
            "fetches started in the period",
        ),
        Definition(
            "outage_s",
            "seconds",
            "time in the period covered by the feed's recorded outages",
            "the period",
        ),
        Definition(
            "availability",
            "share",
            "1 - outage seconds / seconds in the period",
            "the period",
        ),
        Definition(
            "idle_buckets",
            "vehicles",
            "rentable vehicles parked at the sample instant, by days parked, buckets [lo, hi)"
            " with edges 1, 3, 7, 14 days",
            "share of vehicles whose parking start is a lower bound",
        ),
        Definition(
            "violations_opened",
            "findings",
            "findings opened in the period, any status (uncertain ones included, also"
            " counted apart)",
            "rules evaluations in the period and the largest gap between two",
        ),
        Definition(
            "violations_open",
            "findings",
            "findings opened before the instant and not closed at it (held ones included)",
            "rules evaluations up to the instant",
        ),
        Definition(
            "response_time",
            "seconds",
            "responded_at - coalesce(sent_at, issued_at) of the notices issued in the period;"
            " nearest-rank median",
            "notices issued in the period with a response",
        ),
    )
}


def is_fetch_success(outcome: str | None) -> bool:
    return outcome in FETCH_SUCCESS_OUTCOMES


def idle_bucket_index(days: Any) -> Any:
    """Index in ``IDLE_BUCKET_KEYS`` of a number of days parked (scalar or array)."""
    return np.searchsorted(np.asarray(IDLE_BUCKET_DAYS, dtype=np.float64), days, side="right")


def idle_buckets(days: Iterable[float]) -> dict[str, int]:
    """Vehicles per idle bucket, from their days parked."""
    out = dict.fromkeys(IDLE_BUCKET_KEYS, 0)
    values = np.asarray(list(days), dtype=np.float64)
    for i in np.asarray(idle_bucket_index(values)).reshape(-1).tolist():
        out[IDLE_BUCKET_KEYS[i]] += 1
    return out


def nearest_rank(sorted_values: Sequence[float] | np.ndarray, q: float) -> float | None:
    """The nearest-rank ``q`` quantile of sorted values (None when empty)."""
    n = len(sorted_values)
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n))
    return float(sorted_values[rank - 1])
