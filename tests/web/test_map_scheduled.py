"""A zone that applies only at times is on the map, named with its schedule."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import Engine

from tests.notices.test_scheduled_restrictions import import_market
from tests.web.test_map import page_config


def test_the_map_shows_the_zone_with_its_schedule(engine: Engine, client: FlaskClient) -> None:
    import_market(engine)
    data = page_config(client.get("/?lang=fr").get_data(as_text=True), "fm-map-data")
    (layer,) = [z for z in data["zones"] if z["kind"] == "scheduled_restriction"]
    assert layer["label"] == "Restrictions horaires (marchés, événements)" and layer["shown"]
    names = sorted(f["properties"]["label"] for f in layer["features"])
    assert names == [
        "Fête du lac (07/08/2027 12:00–08/08 02:00)",
        "Marché de la vieille ville (mar., ven., dim. 06:00–14:00)",
    ]
