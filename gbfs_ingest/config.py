"""Settings the ingest needs, as plain frozen dataclasses.

They are filled by :mod:`fleet_monitor.settings` from ``config.toml``; the
ingest itself never reads files or the environment for its configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gbfs_ingest import netguard
from gbfs_ingest.auth import FeedAuth
from gbfs_ingest.stays import StaySettings


@dataclass(frozen=True, slots=True)
class IngestSettings:
    poll_floor_s: int = 15
    poll_ceiling_s: int = 300
    default_interval_s: int = 60
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    max_redirects: int = 3
    max_body_mb: float = 32.0
    max_decoded_mb: float = 64.0
    stale_after_s: int = 300
    empty_min_previous: int = 5
    collapse_ratio: float = 0.5
    collapse_min_previous: int = 20
    collapse_confirm_s: int = 1800
    gps_noise_m: float = 15.0
    rotation_link_m: float = 15.0
    #: the definition of a stay (docs/ingest.md "Stays"), and per-operator overrides
    stays: StaySettings = field(default_factory=StaySettings)
    stay_overrides: tuple[tuple[str, StaySettings], ...] = ()
    raw_retention_days: int = 90
    validate_schema: bool = True
    # bodies at least this large are validated by worker processes while the poll
    # parses and stores (gbfs_ingest/validate_worker.py); 0 workers: in the poll
    validate_offload_min_kb: int = 256
    validate_workers: int = 1
    allow_private_networks: bool = False
    allowed_private_hosts: tuple[str, ...] = ()
    preferred_languages: tuple[str, ...] = ("fr", "en")
    user_agent: str = "fleet-monitor/0.1 (+https://github.com/; city oversight)"

    def stays_for(self, operator_slug: str | None) -> StaySettings:
        for slug, st in self.stay_overrides:
            if slug == operator_slug:
                return st
        return self.stays


@dataclass(frozen=True, slots=True)
class OperatorSettings:
    """One operator. Its credentials (``auth``) are bound, when the settings are
    made, to the origin (scheme, host, port) of ``discovery_url`` and of each of
    ``credential_hosts`` (origins such as ``"https://files.op.example"``): a
    discovery file that lists feeds elsewhere, or a redirect elsewhere, never
    gets them. ``dataclasses.replace`` keeps that binding (the manifest's
    discovery URL, a URL given on the command line are not trusted with them).
    """

    slug: str
    name: str
    discovery_url: str
    auth: FeedAuth = field(default_factory=FeedAuth)
    version: str | None = None  # force a GBFS version (else detected)
    language: str | None = None
    feeds: tuple[str, ...] = ()  # restrict to these feed names (empty = all known)
    poll_interval_s: int | None = None
    credential_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.auth.origins is not None:
            return  # bound already (dataclasses.replace of bound settings)
        origins = []
        for host in self.credential_hosts:
            origin = credential_origin(host)
            if origin is None:
                raise ValueError(
                    f"credential host {host[:80]!r} is not an origin such as"
                    " 'https://files.op.example'"
                )
            origins.append(origin)
        own = netguard.origin_of(self.discovery_url)
        bound = self.auth.bound_to([own, *origins] if own is not None else origins)
        object.__setattr__(self, "auth", bound)


def credential_origin(value: str) -> netguard.Origin | None:
    """The origin named by a ``credential_hosts`` entry: ``scheme://host[:port]``
    with no credentials, path (other than ``/``), query or fragment; else None."""
    origin = netguard.origin_of(value)
    if origin is None:
        return None
    rest = value.split("://", 1)[-1]
    tail = rest[len(rest.split("/", 1)[0]) :]
    if tail not in ("", "/") or "?" in rest or "#" in rest:
        return None
    return origin
