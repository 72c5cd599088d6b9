"""Published MDS 2.0 documents: immutable once written.

* ``mds_publication``: one ``fleet-monitor mds publish`` (when, from when on the
  policies apply, who, how many documents were added);
* ``mds_policy``: one published MDS Policy object per row, its exact bytes in
  ``document`` (served and exported as stored, byte for byte), with what the
  next publication compares against: operator, permit version, facet (the
  policy's place among the permit's policies, ``rules.mds_mapping``) and the
  digest of its content;
* ``mds_geography``: one published MDS Geography object per row, bytes in
  ``document``; ``lineage`` is shared by the successive versions of one zone
  (``zone:<id>``) or of one union of zones; ``operator`` is set for a zone of
  one operator only.

Rows are never updated or deleted: triggers (migration 0014) refuse it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from datastore import TS, Base


class MdsPublication(Base):
    __tablename__ = "mds_publication"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    published_at: Mapped[datetime] = mapped_column(TS)
    start_at: Mapped[datetime] = mapped_column(TS)
    actor: Mapped[str | None] = mapped_column(Text)
    policies: Mapped[int] = mapped_column(Integer)
    geographies: Mapped[int] = mapped_column(Integer)


class MdsPolicy(Base):
    __tablename__ = "mds_policy"
    __table_args__ = (
        Index("ix_mds_policy_publication", "publication_id", "position"),
        Index("ix_mds_policy_lineage", "operator", "facet", "permit_version"),
    )
    policy_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    publication_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("mds_publication.id"))
    position: Mapped[int] = mapped_column(Integer)
    operator: Mapped[str] = mapped_column(String(64))
    permit_version: Mapped[int] = mapped_column(Integer)
    facet: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[datetime] = mapped_column(TS)
    end_date: Mapped[datetime | None] = mapped_column(TS)
    document: Mapped[bytes] = mapped_column(LargeBinary)


class MdsGeography(Base):
    __tablename__ = "mds_geography"
    __table_args__ = (Index("ix_mds_geography_publication", "publication_id", "position"),)
    geography_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    publication_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("mds_publication.id"))
    position: Mapped[int] = mapped_column(Integer)
    lineage: Mapped[str] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(String(64))
    document: Mapped[bytes] = mapped_column(LargeBinary)
