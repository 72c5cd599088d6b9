"""Rules engine: pure evaluators turning vehicles, zones, permits, samples and
outages into findings (violations or uncertain cases), each with its evidence.

No database, HTTP, clock or file I/O here: the DB layer gathers the inputs
and records the findings; see ``rules.engine`` for the lifecycle contract.
"""

from rules.checks import ConfigIssue, permit_problem, zone_problem
from rules.count_rules import (
    build_count_samples,
    evaluate_count_rules,
    evaluate_fleet_cap,
    evaluate_zone_caps,
    evaluate_zone_floors,
    vehicles_beyond,
)
from rules.data_rules import (
    evaluate_feed_outage,
    evaluate_feed_staleness,
    evaluate_monthly_availability,
)
from rules.engine import apply_draft, evaluate_all, summarise_replay
from rules.findings import Finding, RuleType, Status
from rules.geo import Located, PreparedCity, prepare_city
from rules.inputs import (
    DEPLOYED_STATES,
    PROHIBITED_KINDS,
    RENTABLE_STATES,
    ZONE_KINDS,
    CountingMethod,
    CountSample,
    DataObligations,
    DeployedVehicle,
    EscalationTerms,
    FeedHealthSample,
    LegalClause,
    LegalTerms,
    NoticeTerms,
    OutageSpan,
    ParkingTerms,
    Permit,
    UnplacedVehicle,
    VehicleSnapshot,
    Zone,
    active_permits,
    operators_in_outage,
    select_permit,
)
from rules.mds import permits_to_mds_policy, zones_to_mds_geographies
from rules.overflow import evaluate_parking_overflow, parking_quotas
from rules.parking_rules import (
    evaluate_in_no_parking_area,
    evaluate_in_pedestrian_area,
    evaluate_in_water,
    evaluate_on_tram_tracks,
    evaluate_outside_mandatory_parking,
    evaluate_outside_operating_area,
    evaluate_prohibited_zones,
)
from rules.permit_toml import PermitError, load_permit_toml, parse_duration
from rules.prepare import EvaluationInputs, PreparedZones, evaluate_checked, prepare_zones
from rules.timing import in_operating_hours, notice_deadline, sample_times
from rules.vehicle_rules import FleetContext, evaluate_disabled, evaluate_idle
from rules.zones_io import (
    Placement,
    ZoneFile,
    ZoneFileError,
    placement,
    read_geojson_zones,
    zones_from_geofencing,
    zones_from_geojson,
)

__all__ = [
    "DEPLOYED_STATES",
    "PROHIBITED_KINDS",
    "RENTABLE_STATES",
    "ZONE_KINDS",
    "ConfigIssue",
    "CountSample",
    "CountingMethod",
    "DataObligations",
    "DeployedVehicle",
    "EscalationTerms",
    "EvaluationInputs",
    "FeedHealthSample",
    "Finding",
    "FleetContext",
    "LegalClause",
    "LegalTerms",
    "Located",
    "NoticeTerms",
    "OutageSpan",
    "ParkingTerms",
    "Permit",
    "PermitError",
    "Placement",
    "PreparedCity",
    "PreparedZones",
    "RuleType",
    "Status",
    "UnplacedVehicle",
    "VehicleSnapshot",
    "Zone",
    "ZoneFile",
    "ZoneFileError",
    "active_permits",
    "apply_draft",
    "build_count_samples",
    "evaluate_all",
    "evaluate_checked",
    "evaluate_count_rules",
    "evaluate_disabled",
    "evaluate_feed_outage",
    "evaluate_feed_staleness",
    "evaluate_fleet_cap",
    "evaluate_idle",
    "evaluate_in_no_parking_area",
    "evaluate_in_pedestrian_area",
    "evaluate_in_water",
    "evaluate_monthly_availability",
    "evaluate_on_tram_tracks",
    "evaluate_outside_mandatory_parking",
    "evaluate_outside_operating_area",
    "evaluate_parking_overflow",
    "evaluate_prohibited_zones",
    "evaluate_zone_caps",
    "evaluate_zone_floors",
    "in_operating_hours",
    "load_permit_toml",
    "notice_deadline",
    "operators_in_outage",
    "parking_quotas",
    "parse_duration",
    "permit_problem",
    "permits_to_mds_policy",
    "placement",
    "prepare_city",
    "prepare_zones",
    "read_geojson_zones",
    "sample_times",
    "select_permit",
    "summarise_replay",
    "vehicles_beyond",
    "zone_problem",
    "zones_from_geofencing",
    "zones_from_geojson",
    "zones_to_mds_geographies",
]
