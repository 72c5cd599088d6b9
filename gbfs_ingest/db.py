"""Database tables of the ingest: operators, feeds, fetches, raw evidence, vehicles.

Geometries are WGS 84 (SRID 4326) with spatial indexes (GiST; SP-GiST for the
points a poll rewrites); times are ``timestamptz`` stored in UTC. The hot path
(``gbfs_ingest.store``) writes with plain SQL on the session's connection; these
ORM classes serve migrations, the CLI and the web layer.

History model (why there is no row per vehicle per poll):

* ``vehicle_current`` holds one row per GBFS id currently published (or just
  vanished, pending a rotation link in the next poll).
* ``dwell`` holds one row per stay of a physical vehicle at one place in one
  state. A new dwell starts only when the vehicle moves beyond GPS noise or
  changes state. While a dwell is open its "last seen" is the feed's
  ``last_observed_at`` (one write per poll for the whole feed, not per vehicle);
  ``last_seen_at`` is written when the dwell closes.
* ``vehicle`` is the physical vehicle: when an operator rotates IDs in place,
  the new GBFS id is linked to the same vehicle (``vehicle_alias`` records the
  link and its confidence) and the open dwell continues, so idle time does
  not restart. ``vehicle`` is a view over each vehicle's first alias
  (migration 0007); ids come from ``vehicle_id_seq``.

The four history tables carry no foreign keys (migration 0006): their only
writer takes ``feed_id``/``operator_id`` from the feed row it holds locked, and
per-row checks cost ~90 ms of a 100,000-vehicle poll. A statement-level
trigger on ``feed`` deletes a feed's history with it.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from datastore.base import ID_TEXT, NAMING, POINT, TS, Base

__all__ = ["ID_TEXT", "NAMING", "POINT", "TS", "Base"]  # re-exported: the ingest's tables use them


class Operator(Base):
    __tablename__ = "operator"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    discovery_url: Mapped[str | None] = mapped_column(Text)
    gbfs_version: Mapped[str | None] = mapped_column(String(16))
    version_detected: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(16))
    system_information: Mapped[dict | None] = mapped_column(JSONB)
    discovered_at: Mapped[datetime | None] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS, server_default=text("now()"))


class Feed(Base):
    """One GBFS file of one operator, polled on its own schedule."""

    __tablename__ = "feed"
    __table_args__ = (UniqueConstraint("operator_id", "feed_type"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    feed_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(60))  # as published (free_bike_status)
    url: Mapped[str] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    ttl_s: Mapped[int | None] = mapped_column(Integer)
    poll_interval_s: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_fetch_at: Mapped[datetime | None] = mapped_column(TS)
    last_success_at: Mapped[datetime | None] = mapped_column(TS)
    last_content_hash: Mapped[str | None] = mapped_column(String(64))
    last_data_updated_at: Mapped[datetime | None] = mapped_column(TS)  # file's last_updated
    last_observed_at: Mapped[datetime | None] = mapped_column(TS)  # last applied observation
    last_count: Mapped[int | None] = mapped_column(Integer)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    state_token: Mapped[int] = mapped_column(BigInteger, default=0)
    retry_after_until: Mapped[datetime | None] = mapped_column(TS)


class Fetch(Base):
    """Health record of every fetch (or replayed file) of a feed."""

    __tablename__ = "feed_fetch"
    __table_args__ = (Index("ix_feed_fetch_feed_started", "feed_id", "started_at"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feed.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(TS)
    observed_at: Mapped[datetime | None] = mapped_column(TS)
    data_updated_at: Mapped[datetime | None] = mapped_column(TS)
    source: Mapped[str] = mapped_column(String(16), default="http")  # http | file
    url: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    wire_bytes: Mapped[int | None] = mapped_column(Integer)
    body_bytes: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))
    record_count: Mapped[int | None] = mapped_column(Integer)
    invalid_count: Mapped[int | None] = mapped_column(Integer)
    changed_count: Mapped[int | None] = mapped_column(Integer)
    schema_error_count: Mapped[int | None] = mapped_column(Integer)
    findings: Mapped[list | None] = mapped_column(JSONB)
    error_kind: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str | None] = mapped_column(String(16))


class RawBlob(Base):
    """Raw bytes of fetched files, zstd-compressed, addressed by SHA-256, deduplicated."""

    __tablename__ = "raw_blob"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    compressed_size: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime] = mapped_column(TS)
    last_seen_at: Mapped[datetime] = mapped_column(TS, index=True)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)


class Outage(Base):
    __tablename__ = "outage"
    __table_args__ = (
        Index("ix_outage_open", "feed_id", postgresql_where=text("ended_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feed.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # fetch_failed | stale | empty | collapse
    started_at: Mapped[datetime] = mapped_column(TS)
    ended_at: Mapped[datetime | None] = mapped_column(TS)
    start_fetch_id: Mapped[int | None] = mapped_column(BigInteger)
    end_fetch_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(Text)


class VehicleAlias(Base):
    """A GBFS id a physical vehicle was published under, and how it was linked."""

    __tablename__ = "vehicle_alias"
    __table_args__ = (Index("ix_vehicle_alias_feed_gbfs", "feed_id", "gbfs_id"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(BigInteger, index=True)
    feed_id: Mapped[int] = mapped_column(Integer)
    gbfs_id: Mapped[str] = mapped_column(ID_TEXT)
    first_seen_at: Mapped[datetime] = mapped_column(TS)
    linked_from: Mapped[str | None] = mapped_column(Text)  # previous gbfs id
    link_distance_m: Mapped[float | None] = mapped_column(Float)
    link_confidence: Mapped[float | None] = mapped_column(Float)
    fetch_id: Mapped[int | None] = mapped_column(BigInteger)


class VehicleCurrent(Base):
    __tablename__ = "vehicle_current"
    # SP-GiST: a spatial index on points that costs ~25 % less per insert than GiST
    # (migration 0008); thousands of rows are rewritten every poll
    __table_args__ = (Index("idx_vehicle_current_geom", "geom", postgresql_using="spgist"),)
    feed_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    gbfs_id: Mapped[str] = mapped_column(ID_TEXT, primary_key=True)
    operator_id: Mapped[int] = mapped_column(Integer)
    vehicle_id: Mapped[int] = mapped_column(BigInteger, index=True)
    dwell_id: Mapped[int] = mapped_column(BigInteger)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    vehicle_type_id: Mapped[str | None] = mapped_column(Text)
    station_id: Mapped[str | None] = mapped_column(Text)
    range_m: Mapped[float | None] = mapped_column(Float)
    fuel_percent: Mapped[float | None] = mapped_column(Float)
    last_reported: Mapped[datetime | None] = mapped_column(TS)
    first_seen_at: Mapped[datetime] = mapped_column(TS)
    missing_since: Mapped[datetime | None] = mapped_column(TS)  # vanished, awaiting link
    last_seen_at: Mapped[datetime | None] = mapped_column(TS)  # set when it vanished
    fetch_id: Mapped[int | None] = mapped_column(BigInteger)
    # consecutive healthy polls it has been absent from (migration 0013)
    absent_polls: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    # seen beyond the stay's drift tolerance at this poll, awaiting confirmation
    far_since: Mapped[datetime | None] = mapped_column(TS)


class Dwell(Base):
    """A stay of a physical vehicle at one place in one state, from when to when."""

    __tablename__ = "dwell"
    __table_args__ = (
        Index("ix_dwell_vehicle_started", "vehicle_id", "started_at"),
        Index("ix_dwell_feed_started", "feed_id", "started_at"),
        Index("idx_dwell_geom", "geom", postgresql_using="spgist"),  # see VehicleCurrent
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    vehicle_id: Mapped[int] = mapped_column(BigInteger)
    feed_id: Mapped[int] = mapped_column(Integer)
    operator_id: Mapped[int] = mapped_column(Integer)
    gbfs_id: Mapped[str] = mapped_column(ID_TEXT)  # id at the dwell's start
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    vehicle_type_id: Mapped[str | None] = mapped_column(Text)
    station_id: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(TS)
    # how the start is known: "observed" (seen arriving/changing between two polls),
    # "first_seen" (already there when we first looked), "after_gap" (seen again after
    # an outage; the start is an upper bound)
    start_confidence: Mapped[str] = mapped_column(String(16))
    ended_at: Mapped[datetime | None] = mapped_column(TS)
    last_seen_at: Mapped[datetime | None] = mapped_column(TS)
    end_reason: Mapped[str | None] = mapped_column(
        String(16)
    )  # moved | absent | gap (v1: state...)
    start_fetch_id: Mapped[int | None] = mapped_column(BigInteger)
    end_fetch_id: Mapped[int | None] = mapped_column(BigInteger)
    rotations: Mapped[int] = mapped_column(Integer, default=0)
    min_link_confidence: Mapped[float | None] = mapped_column(Float)
    # migration 0013 (docs/ingest.md "Stays"): 1 = first definition, 2 = issue 11's
    definition_version: Mapped[int] = mapped_column(SmallInteger, server_default=text("2"))
    bridged_gaps: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    bridged_s: Mapped[float] = mapped_column(Float, server_default=text("0"))
    grace_absences: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class DwellEvent(Base):
    """Something that happened inside a stay without ending it: a state change in
    place (``state``), a bridged gap in the feed's history (``gap``), an absence
    bridged by the operator's grace (``absence``)."""

    __tablename__ = "dwell_event"
    __table_args__ = (
        Index("ix_dwell_event_dwell_at", "dwell_id", "at"),
        Index("ix_dwell_event_feed_at", "feed_id", "at"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dwell_id: Mapped[int] = mapped_column(BigInteger)
    vehicle_id: Mapped[int] = mapped_column(BigInteger)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feed.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(TS)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str | None] = mapped_column(String(16))
    seconds: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str | None] = mapped_column(Text)
    fetch_id: Mapped[int | None] = mapped_column(BigInteger)


class Station(Base):
    __tablename__ = "station"
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feed.id", ondelete="CASCADE"), primary_key=True
    )
    station_id: Mapped[str] = mapped_column(Text, primary_key=True)
    operator_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=True), nullable=True)
    capacity: Mapped[int | None] = mapped_column(Integer)
    is_virtual: Mapped[bool] = mapped_column(Boolean, default=False)
    region_id: Mapped[str | None] = mapped_column(Text)
    num_vehicles_available: Mapped[int | None] = mapped_column(Integer)
    num_vehicles_disabled: Mapped[int | None] = mapped_column(Integer)
    num_docks_available: Mapped[int | None] = mapped_column(Integer)
    is_renting: Mapped[bool | None] = mapped_column(Boolean)
    last_reported: Mapped[datetime | None] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)


class FeedDocument(Base):
    """Latest parsed content of slow-changing files (types, zones, regions, plans)."""

    __tablename__ = "feed_document"
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feed.id", ondelete="CASCADE"), primary_key=True
    )
    content_hash: Mapped[str] = mapped_column(String(64))
    observed_at: Mapped[datetime] = mapped_column(TS)
    records: Mapped[list] = mapped_column(JSONB)
