"""Which GBFS files the service ingests, and why it leaves the others alone.

Every file name of GBFS 1.0 to 3.1 is recognised (``model.FeedType``). Those in
``registry.INGESTED_FEEDS`` are polled and stored; each of the others is
recognised and left out for a stated reason, which ``fleet-monitor ingest``
prints for a file it is given, instead of calling it an unknown name.
"""

from __future__ import annotations

from gbfs_ingest.model import FeedType

__all__ = ["NOT_INGESTED", "not_ingested_reason"]

NOT_INGESTED: dict[FeedType, str] = {
    FeedType.GBFS: "the discovery file: it names the other files and the version, it is read"
    " to find them, not stored as data",
    FeedType.MANIFEST: "lists an operator's systems and their discovery files: read when an"
    " operator is configured with it, not stored as data",
    FeedType.GBFS_VERSIONS: "lists the versions an operator publishes: the service reads the"
    " version it is configured with",
    FeedType.VEHICLE_AVAILABILITY: "GBFS 3.1 (RC3): future time slots in which reservable"
    " vehicles can be booked at stations (car sharing); it says nothing of where vehicles"
    " are now nor of their state, which vehicle_status gives: parsed and checked, not stored",
    FeedType.SYSTEM_ALERTS: "service alerts written for riders (closures, outages): no"
    " quantity the permits regulate",
    FeedType.SYSTEM_HOURS: "rental hours (1.x/2.x): the permit, not the feed, defines"
    " operating hours for the rules",
    FeedType.SYSTEM_CALENDAR: "seasons of operation (1.x/2.x): the permit, not the feed,"
    " defines when rules apply",
}


def not_ingested_reason(feed_type: FeedType) -> str | None:
    """Why a recognised file is not ingested, or None if it is."""
    return NOT_INGESTED.get(feed_type)
