"""The demo city's base map and addresses: generated with the simulated city.

When no tile source is configured (``[web] tile_url`` / ``basemap_mbtiles``),
the demo writes the simulated city's named streets to a GeoJSON file and uses
it as the base map (``[web] basemap_streets``): the demo works offline and an
officer can still read street names. The city's addresses, generated in the
national address base's CSV format, are imported through the same code as
``fleet-monitor addresses import`` (so the demo exercises the real import).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fleet_monitor.addresses_import import import_addresses
from fleet_monitor.settings import Settings

log = logging.getLogger(__name__)


def prepare_demo_basemap(settings: Settings, engine: Engine, workdir: Path) -> Settings:
    """Write the street layer and import the addresses; settings using the streets."""
    from gbfs_simulator.streets import addresses_csv, city_streets

    workdir.mkdir(parents=True, exist_ok=True)
    ban = workdir / "adresses-74.csv"
    ban.write_text(addresses_csv(), encoding="utf-8")
    with Session(engine) as session, session.begin():
        result = import_addresses(session, ban)
    log.info("demo addresses imported: %d", result.imported)
    web = settings.web
    if web.tile_url or web.basemap_mbtiles:
        return settings
    streets = workdir / "streets.geojson"
    streets.write_bytes(orjson.dumps(city_streets()))
    return replace(
        settings, web=replace(web, basemap_streets=str(streets), basemap_public=True)
    )  # generated streets, no licence: the residents' page shows them too
