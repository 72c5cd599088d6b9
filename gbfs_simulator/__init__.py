"""A deterministic GBFS simulator of a city modelled on Annecy.

Public API::

    from gbfs_simulator import Simulation, default_config, start_server
    sim = Simulation(default_config(1500), seed=1, start=datetime(2025, 6, 2, 4, tzinfo=UTC))
    sim.advance_to(sim.start + timedelta(hours=3))
    with start_server(sim) as srv:            # srv.url, srv.admin_token
        ...

See README.md in this package for the feeds, faults and recordings.
"""

from gbfs_simulator.city import ZONE_KINDS, City, city_zones, default_city, zone_file_path
from gbfs_simulator.clock import ManualClock, SimClock
from gbfs_simulator.config import (
    Abandoned,
    CapBreach,
    DisabledLeft,
    Fault,
    IdReshuffle,
    InLake,
    InNoParking,
    OperatorConfig,
    Outage,
    RentedReturned,
    ScriptedCase,
    SimConfig,
    default_config,
    default_operators,
)
from gbfs_simulator.demo import SimulatedCity, start_simulated_city
from gbfs_simulator.feeds import FeedRenderer
from gbfs_simulator.record import RecordResult, record_history
from gbfs_simulator.server import ServerHandle, start_server
from gbfs_simulator.service import FeedService, Response
from gbfs_simulator.sim import CaseInfo, OperatorSnapshot, Simulation, VehicleView

__all__ = [
    "ZONE_KINDS",
    "Abandoned",
    "CapBreach",
    "CaseInfo",
    "City",
    "DisabledLeft",
    "Fault",
    "FeedRenderer",
    "FeedService",
    "IdReshuffle",
    "InLake",
    "InNoParking",
    "ManualClock",
    "OperatorConfig",
    "OperatorSnapshot",
    "Outage",
    "RecordResult",
    "RentedReturned",
    "Response",
    "ScriptedCase",
    "ServerHandle",
    "SimClock",
    "SimConfig",
    "SimulatedCity",
    "Simulation",
    "VehicleView",
    "city_zones",
    "default_city",
    "default_config",
    "default_operators",
    "record_history",
    "start_server",
    "start_simulated_city",
    "zone_file_path",
]
