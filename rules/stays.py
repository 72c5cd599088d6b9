"""What a stay is worth as evidence: its facts and the confidence computed from them.

One definition (docs/ingest.md "Stays", "Confidence of a stay"), used by the
idle and disabled rules, the case file and the notices: a stay's confidence is
the product of three factors, rounded down to 3 decimals:

* **start**: ``observed`` (seen arriving, or seen in place at every poll since
  the service began watching: 1.0 only for the former), ``first_seen`` 0.95
  (already there at the feed's first poll: the true start is earlier, so the
  measured time is a lower bound, but the stay was not observed at every poll
  of it), ``after_gap`` 0.9 (first seen after a gap or an outage: it arrived
  at some time within the gap);
* **identity**: the lowest confidence among the ID rotations linked within the
  stay (0.95 for a unique candidate in the same poll, 0.85 across a poll,
  divided by the number of candidates within the link distance), 1.0 without
  rotations;
* **observation**: the share of the stay during which the vehicle was
  observed at every poll, ``1 - unobserved / duration``, at least 0.25, where
  ``unobserved`` sums the bridged gaps of the feed's history (outages, intervals
  longer than the gap threshold) and the absences bridged by a grace or a
  partial file.

Hence 1.0 only for a stay whose arrival was observed, without rotation, gap or
bridged absence. A permit's ``notices.min_confidence`` turns a finding below it
into an ``uncertain`` case: shown to officers, never sent in a notice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

START_FACTOR = {"observed": 1.0, "first_seen": 0.95, "after_gap": 0.9}
#: below this share of the stay observed, the observation factor stays at this floor
MIN_OBSERVED_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class StayFacts:
    """How a stay was observed (``gbfs_ingest`` stores them with each stay)."""

    definition: int = 2
    start: str = "observed"  # observed | first_seen | after_gap
    rotations: int = 0
    min_link_confidence: float | None = None
    bridged_gaps: int = 0
    bridged_s: float = 0.0
    grace_absences: int = 0
    #: when the vehicle entered its current state within the stay
    state_since: datetime | None = None

    def confidence(self, duration_s: float) -> float:
        return stay_confidence(self, duration_s)

    def to_evidence(self, duration_s: float) -> dict[str, Any]:
        return {
            "definition": self.definition,
            "confidence": self.confidence(duration_s),
            "start": self.start,
            "rotations": self.rotations,
            "min_link_confidence": self.min_link_confidence,
            "bridged_gaps": self.bridged_gaps,
            "unobserved_s": round(self.bridged_s, 1),
            "absences_bridged": self.grace_absences,
            "state_since": self.state_since,
        }


def stay_confidence(facts: StayFacts, duration_s: float) -> float:
    """The confidence of a stay of ``duration_s`` seconds (see the module doc)."""
    c = START_FACTOR.get(facts.start, START_FACTOR["after_gap"])
    if facts.min_link_confidence is not None:
        c *= facts.min_link_confidence
    if facts.bridged_s > 0:
        observed = 1.0 - facts.bridged_s / max(duration_s, facts.bridged_s)
        c *= max(MIN_OBSERVED_SHARE, observed)
    c = math.floor(c * 1000 + 1e-9) / 1000
    if c >= 1.0 and (facts.bridged_s > 0 or facts.grace_absences or facts.bridged_gaps):
        c = 0.999  # never 1.0 for a stay not observed at every poll
    return c
