"""The service's clock for pages and the JSON API.

``FLEET_CLOCK`` in the app config (a callable giving an aware UTC datetime) is
the service's "now": the demo passes its simulated city's clock. Every duration
a page shows (parked for, data age, "parked at least N days") is computed
against this clock, and the pages' scripts get it too (``now`` in
``/api/vehicles`` and in the map's config) so that the browser's own clock,
which may be wrong or, in the demo, days away from the simulated one, is never
used for a duration.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app


def service_now() -> datetime:
    """The service's current time (aware, UTC)."""
    clock: Callable[[], datetime] | None = current_app.config.get("FLEET_CLOCK")
    return clock().astimezone(UTC) if clock is not None else datetime.now(UTC)


def iso_z(moment: datetime) -> str:
    """``moment`` as an RFC 3339 UTC string with a ``Z`` (what JavaScript's Date.parse reads)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
