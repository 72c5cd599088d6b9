"""The national address base (BAN), imported from its CSV files.

One row per address point (``fleet-monitor addresses import adresses-74.csv``).
``geog`` is a geography point (WGS 84) so that distances are in metres on the
ellipsoid and the nearest-neighbour search (``<->``) uses its GiST index.
``former_commune_name`` is the BAN's ``nom_ancienne_commune``: for a merged
commune (Annecy since 2017) the name residents still use.
"""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geography
from sqlalchemy import Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from datastore import TS, Base


class Address(Base):
    __tablename__ = "address"
    __table_args__ = (Index("idx_address_geog", "geog", postgresql_using="gist"),)

    ban_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    number: Mapped[int | None] = mapped_column(Integer)
    suffix: Mapped[str] = mapped_column(String(16), default="")
    street: Mapped[str] = mapped_column(Text)
    postcode: Mapped[str] = mapped_column(String(5))
    insee_code: Mapped[str] = mapped_column(String(5))
    commune_name: Mapped[str] = mapped_column(Text)
    former_insee_code: Mapped[str] = mapped_column(String(5), default="")
    former_commune_name: Mapped[str] = mapped_column(Text, default="")
    geog = mapped_column(Geography("POINT", srid=4326, spatial_index=False), nullable=False)
    imported_at: Mapped[datetime] = mapped_column(TS, server_default=func.now())
