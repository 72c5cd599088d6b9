"""Open311 service discovery (GeoReport v2, issue 15): ``GET /open311/discovery.json``
and ``/open311/discovery.xml``.

A client reads here where the city's GeoReport v2 endpoint is, in which formats
(JSON only), since when it has been as it is (``changeset``), whom to ask
(``contact``: the letterhead's authority, department, e-mail and telephone) and
how to get an API key when one is required (``key_service``). The endpoint's
``jurisdiction_id`` is given too (the city's; see ``web/open311.py``).
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, current_app, jsonify, url_for

from fleet_monitor.web.db import get_settings

bp = Blueprint("open311_discovery", __name__, url_prefix="/open311")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
#: When the GeoReport v2 endpoint last changed (services, fields, rules): bump it with them.
CHANGESET = "2026-12-05T00:00:00Z"
FORMATS = ("application/json",)


def _contact() -> str:
    head = get_settings().letterhead
    parts = [p for p in (head.authority, head.department) if p]
    reach = [p for p in (head.contact_email, head.contact_phone) if p]
    text = ", ".join(parts)
    return f"{text} ({' / '.join(reach)})" if reach else text


def _key_service() -> str:
    if current_app.config.get("FLEET_OPEN311_API_KEY"):
        return "An api_key is required to post requests: ask the city's contact above."
    return "No api_key is required."


def discovery_document() -> dict[str, Any]:
    """The discovery document as GeoReport v2 defines it."""
    from fleet_monitor.web.open311 import jurisdiction_id

    return {
        "changeset": CHANGESET,
        "contact": _contact(),
        "key_service": _key_service(),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url_for("open311.services", _external=True).rsplit("/", 1)[0],
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS),
                "jurisdiction_id": jurisdiction_id(),
            }
        ],
    }


@bp.get("/discovery.json")
def discovery_json() -> Response:
    return jsonify(discovery_document())


@bp.get("/discovery.xml")
def discovery_xml() -> Response:
    doc = discovery_document()
    root = ET.Element("discovery")
    for key in ("changeset", "contact", "key_service"):
        ET.SubElement(root, key).text = doc[key]
    endpoints = ET.SubElement(root, "endpoints")
    for endpoint in doc["endpoints"]:
        node = ET.SubElement(endpoints, "endpoint")
        for key in ("specification", "url", "changeset", "type", "jurisdiction_id"):
            ET.SubElement(node, key).text = endpoint[key]
        formats = ET.SubElement(node, "formats")
        for fmt in endpoint["formats"]:
            ET.SubElement(formats, "format").text = fmt
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(body, mimetype="text/xml")
