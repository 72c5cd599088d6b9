"""Render each operator's GBFS files, version by version (1.0 to 3.0).

Slow-changing files are built with orjson once and cached; the real-time files
(vehicle and station status) come from ``realtime.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.polygon import orient

from gbfs_simulator.engine import OperatorState
from gbfs_simulator.realtime import RealtimeFeeds

if TYPE_CHECKING:
    from gbfs_simulator.sim import Simulation

REALTIME = ("vehicle_status", "free_bike_status", "station_status")
_TEXT = {
    "plan": {"fr": "Tarif standard", "en": "Standard fare"},
    "plan_desc": {
        "fr": "Déverrouillage {p:.2f} € puis {m:.2f} € par minute",
        "en": "Unlock EUR {p:.2f}, then EUR {m:.2f} per minute",
    },
}


def vehicle_feed_name(version: str) -> str:
    return "vehicle_status" if version.startswith("3") else "free_bike_status"


class FeedRenderer(RealtimeFeeds):
    """Builds the bytes of every file of every operator of one simulation."""

    def __init__(self, sim: Simulation, base_url: str) -> None:
        self.sim = sim
        self.base_url = base_url.rstrip("/")
        self._static: dict[tuple[str, str, str], bytes] = {}

    # ------------------------------------------------------------ catalogue

    def feed_names(self, slug: str) -> list[str]:
        """Names listed in the operator's discovery file (manifest.json is extra, 3.0)."""
        cfg = self.sim.ops[slug].cfg
        v = cfg.vtuple
        names = ["gbfs"]
        if v >= (1, 1):
            names.append("gbfs_versions")
        names.append("system_information")
        if v >= (2, 1):
            names.append("vehicle_types")
        if cfg.stations:
            names += ["station_information", "station_status"]
        names.append(vehicle_feed_name(cfg.version))
        names += ["system_regions", "system_pricing_plans"]
        if v >= (2, 1):
            names.append("geofencing_zones")
        return names

    def served_names(self, slug: str) -> list[str]:
        names = self.feed_names(slug)
        return [*names, "manifest"] if self.sim.ops[slug].cfg.vtuple >= (3, 0) else names

    def url(self, slug: str, feed: str, lang: str | None = None) -> str:
        cfg = self.sim.ops[slug].cfg
        if feed in ("gbfs", "manifest") or cfg.vtuple >= (3, 0):
            return f"{self.base_url}/{slug}/{feed}.json"
        return f"{self.base_url}/{slug}/{lang or cfg.languages[0]}/{feed}.json"

    def is_realtime(self, feed: str) -> bool:
        return feed in REALTIME

    # -------------------------------------------------------------- helpers

    def static_ts(self, op: OperatorState) -> int:
        return self.sim.t0 - op.cfg.static_age_days * 86400

    def _envelope(
        self, op: OperatorState, ts: int, data: dict[str, Any], ttl: int | None = None
    ) -> bytes:
        doc: dict[str, Any] = {
            "last_updated": self._ts(op, ts),
            "ttl": op.cfg.ttl if ttl is None else ttl,
        }
        if op.cfg.vtuple >= (1, 1):
            doc["version"] = op.cfg.version
        doc["data"] = data
        return orjson.dumps(doc)

    def _text(self, op: OperatorState, lang: str, texts: dict[str, str] | str) -> Any:
        """A plain string (1.x/2.x, in ``lang``) or a list of translations (3.0)."""
        if isinstance(texts, str):
            texts = dict.fromkeys(op.cfg.languages, texts)
        if op.cfg.vtuple >= (3, 0):
            return [
                {"text": texts.get(lg, texts.get("en", "")), "language": lg}
                for lg in op.cfg.languages
            ]
        return texts.get(lang, next(iter(texts.values())))

    # ------------------------------------------------------------- rendering

    def render(self, slug: str, feed: str, lang: str | None = None) -> bytes:
        """The body of one file (``feed`` as published, e.g. ``free_bike_status``)."""
        op = self.sim.ops[slug]
        lang = lang or op.cfg.languages[0]
        if feed == vehicle_feed_name(op.cfg.version):
            return self.vehicle_doc(op)
        if feed == "station_status" and op.cfg.stations:
            return self.station_status(op)
        if feed not in self.served_names(slug):
            raise KeyError(feed)
        key = (slug, feed, lang)
        if key not in self._static:
            data = getattr(self, f"_{feed}")(op, lang)
            self._static[key] = self._envelope(op, self.static_ts(op), data)
        return self._static[key]

    def _gbfs(self, op: OperatorState, lang: str) -> dict[str, Any]:
        slug = op.cfg.slug
        if op.cfg.vtuple >= (3, 0):
            return {"feeds": [{"name": n, "url": self.url(slug, n)} for n in self.feed_names(slug)]}
        return {
            lg: {
                "feeds": [{"name": n, "url": self.url(slug, n, lg)} for n in self.feed_names(slug)]
            }
            for lg in op.cfg.languages
        }

    def _manifest(self, op: OperatorState, lang: str) -> dict[str, Any]:
        return {
            "datasets": [
                {
                    "system_id": f"{op.cfg.slug}-annecy",
                    "versions": [{"version": op.cfg.version, "url": self.url(op.cfg.slug, "gbfs")}],
                }
            ]
        }

    def _gbfs_versions(self, op: OperatorState, lang: str) -> dict[str, Any]:
        return {"versions": [{"version": op.cfg.version, "url": self.url(op.cfg.slug, "gbfs")}]}

    def _system_information(self, op: OperatorState, lang: str) -> dict[str, Any]:
        cfg, v = op.cfg, op.cfg.vtuple
        site = f"https://{cfg.slug}.example.com/"
        data: dict[str, Any] = {"system_id": f"{cfg.slug}-annecy"}
        if v >= (3, 0):
            data["languages"] = list(cfg.languages)
        else:
            data["language"] = lang
        data["name"] = self._text(op, lang, cfg.name)
        data["operator"] = self._text(op, lang, f"{cfg.name} SAS")
        data["url"] = site
        data["start_date"] = "2023-04-01"
        data["email"] = f"support@{cfg.slug}.example.com"
        if v >= (1, 1):
            data["feed_contact_email"] = f"gbfs@{cfg.slug}.example.com"
        data["timezone"] = self.sim.config.timezone
        if v >= (3, 0):
            data["opening_hours"] = "24/7"
            data["manifest_url"] = self.url(cfg.slug, "manifest")
            data["license_id"] = "ODbL-1.0"
        return data

    def _vehicle_types(self, op: OperatorState, lang: str) -> dict[str, Any]:
        cfg, v = op.cfg, op.cfg.vtuple
        form = cfg.form_factor
        if form.startswith("scooter") and v < (2, 3):
            form = "scooter"
        vt: dict[str, Any] = {
            "vehicle_type_id": op.vehicle_type_id,
            "form_factor": form,
            "propulsion_type": cfg.propulsion_type,
        }
        if cfg.propulsion_type != "human":
            vt["max_range_meters"] = cfg.max_range_m
        vt["name"] = self._text(op, lang, cfg.vehicle_model)
        if v >= (2, 3):
            vt["wheel_count"] = 2
            vt["max_permitted_speed"] = 25 if form == "bicycle" else 20
            vt["default_pricing_plan_id"] = op.plan_id
        return {"vehicle_types": [vt]}

    def _system_pricing_plans(self, op: OperatorState, lang: str) -> dict[str, Any]:
        cfg, v = op.cfg, op.cfg.vtuple
        desc = {
            lg: t.format(p=cfg.price_eur, m=cfg.per_min_eur) for lg, t in _TEXT["plan_desc"].items()
        }
        plan: dict[str, Any] = {
            "plan_id": op.plan_id,
            "name": self._text(op, lang, _TEXT["plan"]),
            "currency": "EUR",
            "price": cfg.price_eur,
            "is_taxable": 1 if v < (2, 0) else True,
            "description": self._text(op, lang, desc),
        }
        if v >= (2, 2):
            plan["per_min_pricing"] = [{"start": 0, "rate": cfg.per_min_eur, "interval": 1}]
        return {"plans": [plan]}

    def _system_regions(self, op: OperatorState, lang: str) -> dict[str, Any]:
        return {
            "regions": [
                {"region_id": z.id.split(":", 1)[1], "name": self._text(op, lang, z.name)}
                for z in self.sim.city.zones["district"]
            ]
        }

    def _station_information(self, op: OperatorState, lang: str) -> dict[str, Any]:
        v = op.cfg.vtuple
        stations = []
        for z in self.sim.city.drop_zones:
            c = z.geom.centroid
            st: dict[str, Any] = {
                "station_id": self.station_id(op, z.id),
                "name": self._text(op, lang, z.name),
                "lat": round(c.y, 6),
                "lon": round(c.x, 6),
            }
            if v >= (2, 1):
                st["is_virtual_station"] = True
                st["station_area"] = _multipolygon(z.geom)
            st["region_id"] = self._region_of(c.x, c.y)
            st["capacity"] = z.capacity or 0
            stations.append(st)
        return {"stations": stations}

    def _geofencing_zones(self, op: OperatorState, lang: str) -> dict[str, Any]:
        v3 = op.cfg.vtuple >= (3, 0)
        city = self.sim.city
        scooter = op.cfg.form_factor.startswith("scooter")
        spec: list[tuple[Any, bool, bool, int | None]] = [
            (z, False, True, None) for z in city.no_parking
        ]
        spec += [(z, False, True, 6 if scooter else 10) for z in city.zones["pedestrian"]]
        spec.append((city.lake, False, False, None))
        if v3:
            spec += [(z, True, True, None) for z in city.zones["operating_area"]]
        features = []
        for z, ride_end, through, speed in spec:
            if v3:
                rule: dict[str, Any] = {
                    "vehicle_type_ids": [op.vehicle_type_id],
                    "ride_start_allowed": ride_end,
                    "ride_end_allowed": ride_end,
                    "ride_through_allowed": through,
                }
            else:
                rule = {
                    "vehicle_type_id": [op.vehicle_type_id],
                    "ride_allowed": ride_end,
                    "ride_through_allowed": through,
                }
            if speed is not None:
                rule["maximum_speed_kph"] = speed
            features.append(
                {
                    "type": "Feature",
                    "properties": {"name": self._text(op, lang, z.name), "rules": [rule]},
                    "geometry": _multipolygon(z.geom),
                }
            )
        data: dict[str, Any] = {
            "geofencing_zones": {"type": "FeatureCollection", "features": features}
        }
        if v3:
            data["global_rules"] = [
                {
                    "ride_start_allowed": False,
                    "ride_end_allowed": False,
                    "ride_through_allowed": True,
                }
            ]
        return data

    def _region_of(self, lon: float, lat: float) -> str:
        for d in self.sim.city.zones["district"]:
            if d.contains(lon, lat):
                return d.id.split(":", 1)[1]
        return "annecy"


def _multipolygon(geom: Any) -> dict[str, Any]:
    polys = list(geom.geoms) if isinstance(geom, MultiPolygon) else [geom]
    mp = MultiPolygon([orient(Polygon(p.exterior, p.interiors), 1.0) for p in polys])
    coords = mapping(mp)["coordinates"]
    return {"type": "MultiPolygon", "coordinates": _round(coords)}


def _round(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 6)
    return [_round(x) for x in obj]
