"""Open311 GeoReport v2 as the standard defines it (issue 15): service discovery,
the service list's fields, a request's fields by id and in a list (by ids too),
errors as a list of {code, description} (one per problem, also for unknown
addresses), jurisdiction_id, and the api_key when the city requires one."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from fleet_monitor.web.open311_discovery import SPECIFICATION
from tests.resident.test_resident_reports import fleets, rows  # noqa: F401
from tests.web.conftest import LAT, LON, M_LAT

REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


def test_discovery_json_and_xml(anon: FlaskClient, app: Flask) -> None:
    got = anon.get("/open311/discovery.json")
    assert got.status_code == 200 and got.mimetype == "application/json"
    doc = got.get_json()
    assert set(doc) == {"changeset", "contact", "key_service", "endpoints"}
    assert "Annecy" in doc["contact"] and "No api_key" in doc["key_service"]
    (endpoint,) = doc["endpoints"]
    assert endpoint["specification"] == SPECIFICATION == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["type"] == "production" and endpoint["formats"] == ["application/json"]
    assert endpoint["changeset"] == doc["changeset"] and doc["changeset"].endswith("Z")
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert endpoint["jurisdiction_id"] == "annecy"
    # the endpoint it names answers
    assert anon.get(endpoint["url"].replace("http://localhost", "") + "/services.json").is_json
    xml = anon.get("/open311/discovery.xml")
    assert xml.status_code == 200 and xml.mimetype == "text/xml"
    root = ET.fromstring(xml.data)
    assert root.tag == "discovery"
    assert root.findtext("endpoints/endpoint/specification") == SPECIFICATION
    assert root.findtext("endpoints/endpoint/formats/format") == "application/json"
    app.config["FLEET_OPEN311_API_KEY"] = "k-1"
    assert "api_key is required" in anon.get("/open311/discovery.json").get_json()["key_service"]


def test_service_list_has_the_standard_fields(anon: FlaskClient) -> None:
    services = anon.get("/open311/v2/services.json").get_json()
    for s in services:
        assert set(s) == {
            "service_code",
            "service_name",
            "description",
            "metadata",
            "type",
            "keywords",
            "group",
        }
        assert s["metadata"] is False and s["type"] in ("realtime", "batch", "blackbox")
        assert isinstance(s["keywords"], str)


def test_requests_by_id_and_in_lists_carry_the_standard_fields(
    anon: FlaskClient,
    engine: Engine,
    fleets: None,  # noqa: F811
) -> None:
    refs = []
    for code in ("badly_parked", "damaged"):
        created = anon.post(
            "/open311/v2/requests.json",
            data={
                "service_code": code,
                "lat": f"{LAT + 200 * M_LAT:.7f}",
                "long": f"{LON:.7f}",
                "description": "private words",
                "email": "private@example.org",
                "jurisdiction_id": "annecy",
            },
        )
        assert created.status_code == 200, created.get_data(as_text=True)
        refs.append(created.get_json()[0]["service_request_id"])
    (one,) = anon.get(f"/open311/v2/requests/{refs[0]}.json").get_json()
    assert set(one) == REQUEST_FIELDS
    assert one["requested_datetime"].endswith("+00:00")  # W3C time with its offset
    assert one["lat"] == float(f"{LAT + 200 * M_LAT:.7f}")
    listed = anon.get(f"/open311/v2/requests.json?service_request_id={refs[1]},{refs[0]}")
    assert {r["service_request_id"] for r in listed.get_json()} == set(refs)
    # service_request_id overrides the other arguments
    both = anon.get(f"/open311/v2/requests.json?service_request_id={refs[0]}&status=closed")
    assert [r["service_request_id"] for r in both.get_json()] == [refs[0]]
    body = listed.get_data(as_text=True)
    assert "private" not in body  # neither the words nor the contact


def test_errors_are_lists_of_code_and_description(anon: FlaskClient, app: Flask) -> None:
    bad = anon.post(
        "/open311/v2/requests.json",
        data={"service_code": "nope", "lat": "", "long": "", "email": "not-an-address"},
    )
    assert bad.status_code == 400
    errors = bad.get_json()
    assert all(set(e) == {"code", "description"} and e["code"] == 400 for e in errors)
    described = " ".join(e["description"] for e in errors)
    assert len(errors) == 3  # one per problem
    assert "service_code" in described and "lat/long" in described and "email" in described
    missing = anon.get("/open311/v2/nothing-here.json")
    assert missing.status_code == 404 and missing.get_json()[0]["code"] == 404
    xml = anon.get("/open311/v2/services.xml")
    assert xml.status_code == 400 and "JSON" in xml.get_json()[0]["description"]
    other = anon.get("/open311/v2/services.json?jurisdiction_id=chambery")
    assert other.status_code == 404 and "jurisdiction_id" in other.get_json()[0]["description"]
    assert anon.get("/open311/v2/services.json?jurisdiction_id=annecy").status_code == 200


def test_api_key_when_the_city_requires_one(anon: FlaskClient, app: Flask, engine: Engine) -> None:
    app.config["FLEET_OPEN311_API_KEY"] = "k-123"
    data = {"service_code": "badly_parked", "lat": f"{LAT}", "long": f"{LON}"}
    refused = anon.post("/open311/v2/requests.json", data=data)
    assert refused.status_code == 403 and refused.get_json()[0]["code"] == 403
    wrong = anon.post("/open311/v2/requests.json", data={**data, "api_key": "k-124"})
    assert wrong.status_code == 403
    assert rows(engine, "SELECT count(*) FROM resident_report") == [(0,)]
    ok = anon.post("/open311/v2/requests.json", data={**data, "api_key": "k-123"})
    assert ok.status_code == 200
    assert anon.get("/open311/v2/services.json").status_code == 200  # reading needs no key


def test_api_key_and_jurisdiction_from_the_environment(
    db_url: str, engine: Engine, monkeypatch: object
) -> None:
    from tests.web.conftest import make_app

    monkeypatch.setenv("FLEET_OPEN311_API_KEY", "from-env")  # type: ignore[attr-defined]
    monkeypatch.setenv("FLEET_OPEN311_JURISDICTION_ID", "annecy-74")  # type: ignore[attr-defined]
    monkeypatch.setenv("FLEET_RESIDENT_REPORTS_PER_HOUR", "1")  # type: ignore[attr-defined]
    client = make_app(db_url, engine).test_client()
    data = {"service_code": "badly_parked", "lat": f"{LAT}", "long": f"{LON}"}
    refused = client.post("/open311/v2/requests.json", data=data)
    assert refused.status_code == 403
    keyed = {**data, "api_key": "from-env", "jurisdiction_id": "annecy-74"}
    assert client.post("/open311/v2/requests.json", data=keyed).status_code == 200
    assert client.post("/open311/v2/requests.json", data=keyed).status_code == 429  # 1 an hour
    monkeypatch.setenv("FLEET_RESIDENT_REPORTS_PER_HOUR", "many")  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="whole number"):
        make_app(db_url, engine)
    doc = client.get("/open311/discovery.json").get_json()
    assert doc["endpoints"][0]["jurisdiction_id"] == "annecy-74"


def test_a_request_names_the_nearest_address_of_the_national_base(
    anon: FlaskClient, engine: Engine, tmp_path: object
) -> None:
    from pathlib import Path

    from sqlalchemy.orm import Session

    from fleet_monitor.addresses_import import import_addresses
    from tests.notices.test_notice_address import HEADER

    ban = Path(str(tmp_path)) / "adresses-74.csv"
    ban.write_text(  # 12 m north of the reported point
        f"{HEADER}\n74010_0300_00004;74010_0300;4;bis;Quai Napoléon III;74940;74010;Annecy;"
        f"74011;Annecy-le-Vieux;{LON:.6f};{LAT + 12 * M_LAT:.7f}\n",
        encoding="utf-8",
    )
    with Session(engine) as s, s.begin():
        import_addresses(s, ban)
    near = anon.post(
        "/open311/v2/requests.json",
        data={"service_code": "badly_parked", "lat": f"{LAT:.7f}", "long": f"{LON:.7f}"},
    )
    far = anon.post(  # 2 km away: no address within reach
        "/open311/v2/requests.json",
        data={"service_code": "badly_parked", "lat": f"{LAT + 0.02:.7f}", "long": f"{LON:.7f}"},
    )
    (one,) = anon.get(
        f"/open311/v2/requests/{near.get_json()[0]['service_request_id']}.json"
    ).get_json()
    assert one["address"] == "4 bis Quai Napoléon III, 74940 Annecy-le-Vieux (Annecy)"
    assert one["address_id"] == "74010_0300_00004" and one["zipcode"] == "74940"
    (other,) = anon.get(
        f"/open311/v2/requests/{far.get_json()[0]['service_request_id']}.json"
    ).get_json()
    assert other["address"] is None and other["zipcode"] is None
    listed = anon.get("/open311/v2/requests.json").get_json()
    assert sorted(str(r["zipcode"]) for r in listed) == ["74940", "None"]
