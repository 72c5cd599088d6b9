"""The declarative base of every ORM table, and the shared column types."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import DateTime, MetaData, Text
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


TS = DateTime(timezone=True)  # timestamptz, stored in UTC
POINT = Geometry("POINT", srid=4326, spatial_index=False)
ID_TEXT = Text(collation="C")  # opaque GBFS ids: byte order, no locale (migration 0006)
