"""One typed settings object, loaded from ``config.toml`` with environment overrides.

Precedence (highest first):

1. ``DATABASE_URL`` for the database URL;
2. ``FLEET__<SECTION>__<KEY>=value`` for any scalar key (value parsed as TOML,
   falling back to a plain string), e.g. ``FLEET__INGEST__STALE_AFTER_S=600``;
3. the file named by ``FLEET_CONFIG``, else ``./config.toml``;
4. the defaults below.

Secrets never sit in the file: a secret is given as ``<name>_env`` (the name
of an environment variable) or ``<name>_file`` (a path whose content is the
secret). A literal ``token``/``password``/``client_secret`` in the file is
refused. A wrong config raises :class:`ConfigError` naming the key and the
problem; the CLI prints it and exits with code 2.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gbfs_ingest.auth import AuthError, FeedAuth, Secret
from gbfs_ingest.config import IngestSettings, OperatorSettings, credential_origin
from gbfs_ingest.parse.boundary import url_problem
from gbfs_ingest.stays import StaySettings

SECRET_KEYS = ("token", "password", "client_secret", "secret", "header_value", "secret_key")
#: the longest debounce that still evaluates within a minute of a poll (40 s + a 20 s tick)
MAX_DEBOUNCE_S = 40
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/fleet_monitor"


class ConfigError(ValueError):
    """A configuration problem, with the offending key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config error at '{key}': {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class CitySettings:
    name: str = "Annecy"
    timezone: str = "Europe/Paris"
    locale: str = "fr"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    max_workers: int = 16
    discovery_interval_s: int = 3600
    maintenance_interval_s: int = 3600


@dataclass(frozen=True, slots=True)
class WebSettings:
    """``[web]``: the web application (see ``docs/security.md ("Accounts, sessions")``).

    ``secret_key`` signs the session cookie: ``secret_key_env`` (an environment
    variable name) or ``secret_key_file``, else the variable ``FLEET_SECRET_KEY``
    when set; at least 32 characters. ``workers``: how many processes serve the
    app (gunicorn ``-w``; waitress serves threads of one process: 1), or the
    environment's ``WEB_CONCURRENCY`` (gunicorn's own default for ``-w``) when
    larger. More than one needs the secret key: the app refuses to start without.
    ``trusted_proxies``: addresses or networks of the reverse proxies whose
    ``X-Forwarded-For``/``-Proto`` are believed (loopback by default: a proxy
    on the same host). ``cookie_secure``: true/false, or unset for "Secure
    unless debug/testing or over HTTPS". ``hsts_max_age_s``: the
    Strict-Transport-Security max-age (0: never sent). ``public_url``: the
    app's address for links in e-mails (password reset), falling back to
    ``notices.public_url``. ``totp_roles``: roles that must use two-factor
    sign-in. ``api_token_requests_per_minute``: per operator API token.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: Secret | None = None
    tile_url: str = ""
    # base map (docs/basemap.md): tile source's attribution and zoom range, or a
    # local raster MBTiles file, or a vector street layer (GeoJSON) when no tiles
    tile_attribution: str = ""
    tile_max_zoom: int = 19
    basemap_mbtiles: str = ""
    basemap_streets: str = ""
    # the local base map (MBTiles tiles, street layer) without sign-in: for the
    # residents' public report page; leave off when the MBTiles file holds
    # licensed data (docs/basemap.md)
    basemap_public: bool = False
    workers: int = 1
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    cookie_secure: bool | None = None
    hsts_max_age_s: int = 31_536_000
    public_url: str = ""
    password_reset_ttl_s: int = 3600
    totp_roles: tuple[str, ...] = ("admin", "supervisor")
    api_token_requests_per_minute: int = 60


@dataclass(frozen=True, slots=True)
class AddressSettings:
    """``[addresses]``: the nearest address shown for a position (docs/addresses.md).

    ``max_distance_m``: an address farther than this is not shown (a vehicle on a
    lawn or a quay is described by no address rather than a misleading one).
    """

    max_distance_m: float = 60.0


@dataclass(frozen=True, slots=True)
class RulesSettings:
    """``[rules]``: when the scheduler evaluates the rules and samples fleet counts.

    ``evaluate_every_s``: evaluate at least this often; ``debounce_s``: after a
    vehicle feed poll, evaluate this many seconds later (polls within that
    delay share one evaluation; 0 = only on the timer). ``sample_every_s``:
    how often the count-sampling job looks for due sample times (samples are
    taken on each permit's own grid). ``gps_tolerance_m``: for permits that do
    not state theirs. ``line_half_width_m``: half-width of line zones (tram
    tracks) without a buffer. ``permits_dir``: TOML permits imported at
    scheduler start (new versions only). Intervals are in the scheduler's
    clock (simulated seconds in the demo).
    """

    enabled: bool = True
    evaluate_every_s: int = 300
    debounce_s: int = 20
    sample_every_s: int = 60
    sample_catchup_s: int = 3600
    gps_tolerance_m: float = 10.0
    line_half_width_m: float = 1.5
    permits_dir: str | None = None


@dataclass(frozen=True, slots=True)
class MailSettings:
    """``[mail]``: the SMTP server that sends notices and reports.

    An empty ``smtp_host`` disables e-mail: deliveries wait (shown as such) until
    one is configured. ``smtp_starttls`` upgrades a plain connection (port 587);
    ``smtp_ssl`` speaks TLS from the start (port 465). The password is only ever
    given as ``smtp_password_env`` / ``smtp_password_file``; the user name may be
    written as is or given the same way. ``staff_recipients`` receive the
    city-wide daily summary.
    """

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_ssl: bool = False
    smtp_username: str | None = None
    smtp_password: Secret | None = None
    smtp_timeout_s: float = 30.0
    from_address: str = ""
    reply_to: str | None = None
    staff_recipients: tuple[str, ...] = ()


def _registry_urgent_rules() -> tuple[str, ...]:
    """The rules the registry declares urgent (imported when needed, not with this module)."""
    from rules.registry import urgent_rule_ids

    return urgent_rule_ids()


@dataclass(frozen=True, slots=True)
class NoticeSettings:
    """``[notices]``: notices to operators, their delivery and their deadlines.

    ``mode``: ``auto`` issues notices as violations qualify, ``review`` keeps
    them as drafts until a supervisor sends them. ``urgent_rules`` (default: the
    rules ``rules.registry`` declares urgent) are noticed within the evaluation
    that detects them, other rules of ``rules`` (empty: every vehicle rule) once per
    operator per ``batch_window_s`` when open for ``grace_s``. Failed deliveries
    are retried ``max_attempts`` times, ``retry_base_s`` doubling up to
    ``retry_max_s``. Webhook secrets come from the environment variable
    ``FLEET_WEBHOOK_SECRET_<SLUG>`` or the file ``<webhook_secrets_dir>/<slug>``,
    never from this file; webhook URLs pass the same network guard as feeds.
    ``public_url`` is the web app's address, for links in e-mails.
    """

    enabled: bool = True
    mode: str = "auto"
    reference_prefix: str = "ANN"
    urgent_rules: tuple[str, ...] = field(default_factory=lambda: _registry_urgent_rules())
    rules: tuple[str, ...] = ()
    batch_window_s: int = 3600
    grace_s: int = 600
    plan_every_s: int = 60
    send_every_s: int = 20
    check_every_s: int = 300
    max_attempts: int = 8
    retry_base_s: int = 60
    retry_max_s: int = 3600
    sending_lease_s: int = 900
    undetermined_after_s: int = 86400
    webhook_timeout_s: float = 10.0
    webhook_secrets_dir: str | None = None
    webhook_allow_private_networks: bool = False
    webhook_allowed_private_hosts: tuple[str, ...] = ()
    public_url: str = ""


@dataclass(frozen=True, slots=True)
class LetterheadSettings:
    """``[letterhead]``: who sends notices, as printed at their head and foot.

    ``address`` is a list of lines; ``logo_path`` a PNG or JPEG (relative to the
    configuration file). ``signatory_*`` sign the acts; ``contact_*`` is whom
    the operator may call or write to. ``respond_link_ttl_s`` is how long the
    signed link to respond, printed in each notice, stays valid.
    """

    authority: str = "Ville d'Annecy"
    department: str = "Direction de la mobilité - Occupation du domaine public"
    address: tuple[str, ...] = ("Esplanade de l'Hôtel de Ville", "74000 Annecy")
    logo_path: str | None = None
    signatory_name: str = ""
    signatory_title: str = "Le Maire, par délégation"
    contact_email: str = ""
    contact_phone: str = ""
    respond_link_ttl_s: int = 30 * 86400


@dataclass(frozen=True, slots=True)
class ReportSettings:
    """``[reports]``: the daily compliance report, sent at ``send_time`` local time
    (``timezone``, the city's when empty) for the previous local day."""

    enabled: bool = True
    send_time: str = "07:00"
    timezone: str = ""
    check_every_s: int = 60


@dataclass(frozen=True, slots=True)
class StatsSettings:
    """``[stats]``: statistics aggregates and the retention of fine-grained history.

    ``sample_interval_s``: the fleet sample grid (5 minutes, a divisor of an
    hour); ``idle_sample_time``: local time of the daily idle-time sample (CROW:
    03:30); ``observation_max_age_s``: a sample is *observed* when the operator's
    vehicle feed was fetched successfully this recently and is not in outage;
    ``zone_kinds``: kinds of city zones the figures are broken down by;
    ``settle_s``: a local day is aggregated this long after it ends (late data,
    vehicles reappearing); ``reappear_window_s``: a persistent-ID vehicle that
    vanished counts as a departure when it reappears elsewhere within this
    delay; ``aggregate_every_s``: how often the job looks for days to aggregate;
    ``backfill_days``: how far back the first aggregation goes;
    ``idle_lookback_days``: history read back to find when a vehicle parked.
    Data protection: dwell positions older than ``position_history_days`` are
    coarsened to a ``coarsen_grid_m`` grid (``position_policy = "coarsen"``) or
    deleted (``"purge"``), except the evidence of violations; aggregates are
    kept ``aggregate_retention_days``. See ``docs/statistics.md``.
    """

    enabled: bool = True
    sample_interval_s: int = 300
    idle_sample_time: str = "03:30"
    observation_max_age_s: int = 600
    zone_kinds: tuple[str, ...] = ("district",)
    settle_s: int = 7200
    reappear_window_s: int = 7200
    aggregate_every_s: int = 3600
    backfill_days: int = 400
    idle_lookback_days: int = 60
    position_history_days: int = 90
    position_policy: str = "coarsen"
    coarsen_grid_m: float = 250.0
    aggregate_retention_days: int = 3650
    retention_every_s: int = 86400


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """``[retention]``: how long personal data in case files and residents' reports
    are kept (``fleet_monitor.retention``, ``docs/security.md``).

    ``case_photo_days``: the photo of an on-site check is erased this many days
    after its case closed, counted from the latest of the case's closing and the
    decision on any dispute about it; never while the case is open, a notice
    about it is a draft or issued, or a dispute about it is open.
    ``resident_report_days``: a resident's contact and photo are erased this many
    days after the report was closed. ``every_s``: how often the job runs. The
    hash and metadata of an erased photo are kept (a tombstone)."""

    case_photo_days: int = 365
    resident_report_days: int = 90
    every_s: int = 86400


#: a retention longer than this is surely a typo (days instead of hours, an extra 0)
MAX_RETENTION_DAYS = 3650


@dataclass(frozen=True, slots=True)
class MdsSettings:
    """``[mds]``: the published MDS 2.0 Policy and Geography API (``docs/mds.md``).

    ``access``: ``public`` (MDS: "all Policy endpoints should be made public") or
    ``token``: an operator's API token (it sees its own policies and the city-wide
    geographies) or a signed-in account (staff see everything)."""

    access: str = "public"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    city: CitySettings = field(default_factory=CitySettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    web: WebSettings = field(default_factory=WebSettings)
    rules: RulesSettings = field(default_factory=RulesSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    notices: NoticeSettings = field(default_factory=NoticeSettings)
    letterhead: LetterheadSettings = field(default_factory=LetterheadSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    stats: StatsSettings = field(default_factory=StatsSettings)
    mds: MdsSettings = field(default_factory=MdsSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    addresses: AddressSettings = field(default_factory=AddressSettings)
    operators: tuple[OperatorSettings, ...] = ()
    source: str = "<defaults>"

    def operator(self, slug: str) -> OperatorSettings:
        for op in self.operators:
            if op.slug == slug:
                return op
        raise KeyError(slug)


# --------------------------------------------------------------------------- loading


def load_settings(
    path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None
) -> Settings:
    """Load settings from a TOML file and the environment. Raises ConfigError."""
    env = dict(os.environ) if env is None else env
    if path is None:
        path = env.get("FLEET_CONFIG") or "config.toml"
    p = Path(path)
    raw: dict[str, Any] = {}
    if p.exists():
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(p), f"not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(str(p), f"cannot read: {exc.strerror}") from None
    elif env.get("FLEET_CONFIG") or str(path) != "config.toml":
        raise ConfigError("FLEET_CONFIG", f"config file {str(p)!r} does not exist")
    _apply_env_overrides(raw, env)
    settings = settings_from_dict(raw, env=env, base_dir=p.parent if p.exists() else Path.cwd())
    return _replace(settings, source=str(p) if p.exists() else "<defaults>")


def settings_from_dict(
    raw: dict[str, Any], env: dict[str, str] | None = None, base_dir: Path | None = None
) -> Settings:
    env = dict(os.environ) if env is None else env
    base_dir = base_dir or Path.cwd()
    known = {"database", "city", "ingest", "scheduler", "web", "rules", "operators"}
    known |= {"stats"}
    known |= {"mail", "notices", "reports"}
    known |= {"mds"}
    known |= {"letterhead"}
    known |= {"addresses"}
    known |= {"retention"}
    for key in raw:
        if key not in known:
            raise ConfigError(key, f"unknown section (expected one of {sorted(known)})")
    db = _section(raw, "database")
    _reject_unknown("database", db, {"url"})
    database_url = env.get("DATABASE_URL") or _typed("database.url", db.get("url"), str)
    database_url = database_url or DEFAULT_DATABASE_URL
    if not database_url.startswith("postgresql"):
        raise ConfigError("database.url", "must be a postgresql:// URL (PostGIS is required)")
    database_url = normalise_database_url(database_url)

    city = _dataclass_from("city", _section(raw, "city"), CitySettings)
    try:
        ZoneInfo(city.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("city.timezone", f"unknown time zone {city.timezone!r}") from None
    if city.locale not in ("fr", "en"):
        raise ConfigError("city.locale", "must be 'fr' or 'en'")

    ingest_raw = dict(_section(raw, "ingest"))
    stays_raw = ingest_raw.pop("stays", {})
    ingest = _dataclass_from("ingest", ingest_raw, IngestSettings)
    ingest = replace(ingest, stays=_stay_settings("ingest.stays", stays_raw, StaySettings()))
    if not 0 < ingest.poll_floor_s <= ingest.poll_ceiling_s:
        raise ConfigError("ingest.poll_floor_s", "must be > 0 and <= ingest.poll_ceiling_s")
    if not 0 < ingest.collapse_ratio < 1:
        raise ConfigError("ingest.collapse_ratio", "must be between 0 and 1")
    for key in ("gps_noise_m", "rotation_link_m", "max_body_mb", "max_decoded_mb"):
        if getattr(ingest, key) <= 0:
            raise ConfigError(f"ingest.{key}", "must be positive")
    for key in ("validate_workers", "validate_offload_min_kb"):
        if getattr(ingest, key) < 0:
            raise ConfigError(f"ingest.{key}", "must be 0 or more")

    scheduler = _dataclass_from("scheduler", _section(raw, "scheduler"), SchedulerSettings)
    if scheduler.max_workers < 1:
        raise ConfigError("scheduler.max_workers", "must be at least 1")

    web = _web_settings(dict(_section(raw, "web")), env, base_dir)

    rules = _rules_settings(_section(raw, "rules"), base_dir)
    stats = _stats_settings(_section(raw, "stats"))
    mail = _mail_settings(dict(_section(raw, "mail")), env, base_dir)
    notices = _notice_settings(_section(raw, "notices"), base_dir)
    letterhead = _letterhead_settings(_section(raw, "letterhead"), base_dir)
    reports = _report_settings(_section(raw, "reports"), city)
    mds = _dataclass_from("mds", _section(raw, "mds"), MdsSettings)
    if mds.access not in ("public", "token"):
        raise ConfigError("mds.access", "must be 'public' or 'token'")
    addresses = _dataclass_from("addresses", _section(raw, "addresses"), AddressSettings)
    if not 0 < addresses.max_distance_m <= 1000:
        raise ConfigError("addresses.max_distance_m", "must be between 0 (excluded) and 1000 m")

    retention = _retention_settings(_section(raw, "retention"))

    ops_raw = raw.get("operators", [])
    if not isinstance(ops_raw, list):
        raise ConfigError("operators", "must be an array of tables ([[operators]])")
    operators: list[OperatorSettings] = []
    seen: set[str] = set()
    for i, op in enumerate(ops_raw):
        operators.append(_operator(f"operators[{i}]", op, env, base_dir))
        if operators[-1].slug in seen:
            raise ConfigError(f"operators[{i}].slug", f"duplicate slug {operators[-1].slug!r}")
        seen.add(operators[-1].slug)
        if isinstance(op, dict) and "stays" in op:  # per-operator stay definition (issue 11)
            own = _stay_settings(f"operators[{i}].stays", op["stays"], ingest.stays)
            ingest = replace(ingest, stay_overrides=(*ingest.stay_overrides, (seen_slug(op), own)))

    return Settings(
        database_url=database_url,
        city=city,
        ingest=ingest,
        scheduler=scheduler,
        web=web,
        rules=rules,
        mail=mail,
        notices=notices,
        letterhead=letterhead,
        reports=reports,
        stats=stats,
        mds=mds,
        addresses=addresses,
        retention=retention,
        operators=tuple(operators),
    )


DEFAULT_SECRET_KEY_ENV = "FLEET_SECRET_KEY"
MIN_SECRET_KEY_LENGTH = 32
TOTP_ROLES = ("officer", "supervisor", "admin", "operator")


def _web_settings(table: dict[str, Any], env: dict[str, str], base_dir: Path) -> WebSettings:
    if not any(k in table for k in ("secret_key", "secret_key_env", "secret_key_file")):
        table["secret_key_env"] = DEFAULT_SECRET_KEY_ENV
    secret_key = _secret("web", table, "secret_key", env, base_dir, required=False)
    if secret_key is not None and not secret_key.reveal():
        secret_key = None  # an empty variable is no key
    if secret_key is not None and len(secret_key.reveal()) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            "web.secret_key_env",
            f"the secret key must be at least {MIN_SECRET_KEY_LENGTH} characters "
            "(e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(48))')",
        )
    web = _dataclass_from("web", table, WebSettings)
    concurrency = env.get("WEB_CONCURRENCY", "").strip()
    if concurrency and not concurrency.isdigit():
        raise ConfigError("WEB_CONCURRENCY", "must be a number of worker processes")
    # several workers are known from either: the larger one counts (refusing to
    # start is better than workers that reject each other's sessions)
    workers = max(web.workers, int(concurrency or 0))
    web = _replace(web, secret_key=secret_key, workers=workers)
    if web.workers < 1:
        raise ConfigError("web.workers", "must be at least 1")
    for i, proxy in enumerate(web.trusted_proxies):
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigError(
                f"web.trusted_proxies[{i}]", f"{proxy!r} is not an IP address or network"
            ) from None
    for key in ("hsts_max_age_s", "password_reset_ttl_s", "api_token_requests_per_minute"):
        if getattr(web, key) < 0:
            raise ConfigError(f"web.{key}", "must not be negative")
    for role in web.totp_roles:
        if role not in TOTP_ROLES:
            raise ConfigError("web.totp_roles", f"unknown role {role!r} (one of {TOTP_ROLES})")
    if web.public_url and not web.public_url.startswith(("https://", "http://")):
        raise ConfigError("web.public_url", "must be an http(s):// address")
    return _basemap_settings(web, base_dir)


def _basemap_settings(web: WebSettings, base_dir: Path) -> WebSettings:
    """Check the base map keys; make file paths absolute (relative to the config file)."""
    from fleet_monitor.basemap_config import basemap_problem

    problem = basemap_problem(web)
    if problem is not None:
        raise ConfigError(*problem)
    changes: dict[str, Any] = {}
    for key in ("basemap_mbtiles", "basemap_streets"):
        value = getattr(web, key)
        if value:
            path = Path(value) if Path(value).is_absolute() else base_dir / value
            if not path.is_file():
                raise ConfigError(f"web.{key}", f"{str(path)!r} is not a readable file")
            changes[key] = str(path)
    return _replace(web, **changes) if changes else web


def _rules_settings(table: dict[str, Any], base_dir: Path) -> RulesSettings:
    rules = _dataclass_from("rules", table, RulesSettings)
    for key in ("evaluate_every_s", "sample_every_s"):
        if getattr(rules, key) <= 0:
            raise ConfigError(f"rules.{key}", "must be positive")
    for key in ("debounce_s", "sample_catchup_s", "gps_tolerance_m", "line_half_width_m"):
        if getattr(rules, key) < 0:
            raise ConfigError(f"rules.{key}", "must not be negative")
    # an evaluation follows a poll within a minute (urgent notices depend on it): the
    # job looks every min(evaluate_every_s, debounce_s) / 2 s and evaluates debounce_s after
    if rules.debounce_s > MAX_DEBOUNCE_S:
        raise ConfigError(
            "rules.debounce_s",
            f"must be at most {MAX_DEBOUNCE_S} (evaluate within a minute of a poll)",
        )
    if rules.debounce_s == 0 and rules.evaluate_every_s > 60:
        raise ConfigError(
            "rules.evaluate_every_s",
            "must be at most 60 when debounce_s is 0 (evaluate within a minute of a poll)",
        )
    if rules.permits_dir is not None:
        path = Path(rules.permits_dir)
        path = path if path.is_absolute() else base_dir / path
        if not path.is_dir():
            raise ConfigError("rules.permits_dir", f"{str(path)!r} is not a directory")
        rules = _replace(rules, permits_dir=str(path))
    return rules


def _mail_settings(table: dict[str, Any], env: dict[str, str], base_dir: Path) -> MailSettings:
    password = _secret("mail", table, "smtp_password", env, base_dir, required=False)
    username = None
    if "smtp_username" not in table:
        secret = _secret("mail", table, "smtp_username", env, base_dir, required=False)
        username = secret.reveal() if secret is not None else None
    mail = _dataclass_from("mail", table, MailSettings)
    mail = _replace(mail, smtp_password=password, smtp_username=mail.smtp_username or username)
    if not 0 < mail.smtp_port < 65536:
        raise ConfigError("mail.smtp_port", "must be a TCP port (1-65535)")
    if mail.smtp_ssl and mail.smtp_starttls:
        raise ConfigError("mail.smtp_starttls", "smtp_ssl and smtp_starttls exclude each other")
    if mail.smtp_timeout_s <= 0:
        raise ConfigError("mail.smtp_timeout_s", "must be positive")
    if mail.smtp_host and "@" not in mail.from_address:
        raise ConfigError("mail.from_address", "an e-mail address is required to send e-mail")
    for i, address in enumerate(mail.staff_recipients):
        if "@" not in address:
            raise ConfigError(f"mail.staff_recipients[{i}]", "must be an e-mail address")
    return mail


def _notice_settings(table: dict[str, Any], base_dir: Path) -> NoticeSettings:
    notices = _dataclass_from("notices", table, NoticeSettings)
    if notices.mode not in ("auto", "review"):
        raise ConfigError("notices.mode", "must be 'auto' or 'review'")
    prefix = notices.reference_prefix
    if not prefix or len(prefix) > 12 or not all(c.isalnum() for c in prefix):
        raise ConfigError("notices.reference_prefix", "must be 1-12 letters or digits")
    for key in ("batch_window_s", "plan_every_s", "send_every_s", "check_every_s"):
        if getattr(notices, key) <= 0:
            raise ConfigError(f"notices.{key}", "must be positive")
    for key in ("max_attempts", "retry_base_s", "sending_lease_s", "webhook_timeout_s"):
        if getattr(notices, key) <= 0:
            raise ConfigError(f"notices.{key}", "must be positive")
    from rules.registry import rule_ids

    for key in ("urgent_rules", "rules"):
        unknown = sorted(set(getattr(notices, key)) - set(rule_ids()))
        if unknown:
            raise ConfigError(f"notices.{key}", f"unknown rule types {unknown}")
    if notices.retry_max_s < notices.retry_base_s:
        raise ConfigError("notices.retry_max_s", "must be at least notices.retry_base_s")
    if notices.grace_s < 0 or notices.undetermined_after_s < 0:
        raise ConfigError("notices.grace_s", "durations must not be negative")
    if notices.webhook_secrets_dir is not None:
        path = Path(notices.webhook_secrets_dir)
        path = path if path.is_absolute() else base_dir / path
        notices = _replace(notices, webhook_secrets_dir=str(path))
    return notices


def _letterhead_settings(table: dict[str, Any], base_dir: Path) -> LetterheadSettings:
    head = _dataclass_from("letterhead", table, LetterheadSettings)
    for key in ("authority", "department", "signatory_name", "signatory_title"):
        if len(getattr(head, key)) > 200:
            raise ConfigError(f"letterhead.{key}", "must be at most 200 characters")
    if len(head.address) > 6 or any(len(line) > 200 for line in head.address):
        raise ConfigError("letterhead.address", "must be at most 6 lines of 200 characters")
    if head.respond_link_ttl_s <= 0:
        raise ConfigError("letterhead.respond_link_ttl_s", "must be positive")
    if head.logo_path:
        path = Path(head.logo_path)
        path = path if path.is_absolute() else base_dir / path
        try:
            magic = path.read_bytes()[:8]
        except OSError as exc:
            raise ConfigError("letterhead.logo_path", f"cannot read {path}: {exc}") from None
        if not (magic.startswith(b"\x89PNG") or magic.startswith(b"\xff\xd8")):
            raise ConfigError("letterhead.logo_path", f"{path} is not a PNG or JPEG image")
        head = _replace(head, logo_path=str(path))
    return head


def _report_settings(table: dict[str, Any], city: CitySettings) -> ReportSettings:
    reports = _dataclass_from("reports", table, ReportSettings)
    try:
        time.fromisoformat(reports.send_time)
    except ValueError:
        raise ConfigError("reports.send_time", "must be a time of day such as '07:00'") from None
    timezone = reports.timezone or city.timezone
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("reports.timezone", f"unknown time zone {timezone!r}") from None
    if reports.check_every_s <= 0:
        raise ConfigError("reports.check_every_s", "must be positive")
    return _replace(reports, timezone=timezone)


def _stats_settings(table: dict[str, Any]) -> StatsSettings:
    stats = _dataclass_from("stats", table, StatsSettings)
    step = stats.sample_interval_s
    if step < 60 or 3600 % step:
        raise ConfigError("stats.sample_interval_s", "must divide an hour, 60 s at least")
    try:
        time.fromisoformat(stats.idle_sample_time)
    except ValueError:
        raise ConfigError(
            "stats.idle_sample_time", "must be a time of day such as '03:30'"
        ) from None
    for key in ("observation_max_age_s", "aggregate_every_s", "backfill_days", "retention_every_s"):
        if getattr(stats, key) <= 0:
            raise ConfigError(f"stats.{key}", "must be positive")
    for key in ("idle_lookback_days", "position_history_days", "aggregate_retention_days"):
        if getattr(stats, key) < 1:
            raise ConfigError(f"stats.{key}", "must be at least 1 day")
    if stats.settle_s < 0 or stats.reappear_window_s < 0:
        raise ConfigError("stats.settle_s", "durations must not be negative")
    if stats.position_policy not in ("coarsen", "purge"):
        raise ConfigError("stats.position_policy", "must be 'coarsen' or 'purge'")
    if stats.coarsen_grid_m <= 0:
        raise ConfigError("stats.coarsen_grid_m", "must be positive")
    return stats


def _retention_settings(table: dict[str, Any]) -> RetentionSettings:
    retention = _dataclass_from("retention", table, RetentionSettings)
    for key in ("case_photo_days", "resident_report_days"):
        days = getattr(retention, key)
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise ConfigError(
                f"retention.{key}",
                f"must be a number of days between 1 and {MAX_RETENTION_DAYS}, got {days}",
            )
    if not 60 <= retention.every_s <= 86400:
        raise ConfigError(
            "retention.every_s", "must be between 60 and 86400 s (the policy applies daily)"
        )
    return retention


def normalise_database_url(url: str) -> str:
    """SQLAlchemy needs the psycopg (3) driver named; accept plain postgresql:// URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# --------------------------------------------------------------------------- helpers


def _replace(obj: Any, **changes: Any) -> Any:
    values = {f.name: getattr(obj, f.name) for f in fields(obj)}
    values.update(changes)
    return type(obj)(**values)


def _section(raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(name, "must be a table")
    return value


def _reject_unknown(prefix: str, table: dict[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{prefix}.{key}", f"unknown key (expected one of {sorted(allowed)})")


def _typed(key: str, value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key, "must be a list of strings")
        return tuple(value)
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(key, f"must be {kind.__name__}, got a boolean")
    if not isinstance(value, kind):
        raise ConfigError(key, f"must be {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


_TYPE_NAMES = {"str": str, "int": int, "float": float, "bool": bool}


def _dataclass_from(prefix: str, table: dict[str, Any], cls: type) -> Any:
    values: dict[str, Any] = {}
    by_name = {f.name: f for f in fields(cls)}
    for key, value in table.items():
        if key in SECRET_KEYS or key.endswith(("_env", "_file")):
            continue  # secrets are resolved by the caller
        f = by_name.get(key)
        if f is None:
            raise ConfigError(f"{prefix}.{key}", f"unknown key (expected one of {sorted(by_name)})")
        type_name = str(f.type).split("|")[0].strip()
        kind = tuple if type_name.startswith("tuple") else _TYPE_NAMES.get(type_name)
        if kind is None:
            continue
        values[key] = _typed(f"{prefix}.{key}", value, kind)
    return cls(**values)


def _secret(
    prefix: str,
    table: dict[str, Any],
    name: str,
    env: dict[str, str],
    base_dir: Path,
    *,
    required: bool,
) -> Secret | None:
    """Resolve ``<name>_env`` / ``<name>_file``; refuse a literal secret in the file."""
    if name in table:
        raise ConfigError(
            f"{prefix}.{name}",
            f"secrets must not be written in the config file; use {name}_env "
            f"(an environment variable name) or {name}_file (a file path)",
        )
    env_name = table.pop(f"{name}_env", None)
    file_name = table.pop(f"{name}_file", None)
    if env_name is not None:
        env_name = _typed(f"{prefix}.{name}_env", env_name, str)
        if env_name not in env:
            if required:
                raise ConfigError(
                    f"{prefix}.{name}_env", f"environment variable {env_name} is not set"
                )
            return None
        return Secret(env[env_name])
    if file_name is not None:
        path = Path(_typed(f"{prefix}.{name}_file", file_name, str))
        if not path.is_absolute():
            path = base_dir / path
        try:
            return Secret(path.read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ConfigError(
                f"{prefix}.{name}_file", f"cannot read {path}: {exc.strerror}"
            ) from None
    if required:
        raise ConfigError(f"{prefix}.{name}_env", f"{name} is required (give {name}_env or _file)")
    return None


_AUTH_FIELDS = {
    "none": {},
    "bearer": {"token": True},
    "basic": {"username": False, "password": True},
    "header": {"header_name": False, "header_value": True},
    "oauth2_client_credentials": {
        "token_url": False,
        "client_id": False,
        "client_secret": True,
        "scope": False,
    },
}


def _auth(prefix: str, raw: Any, env: dict[str, str], base_dir: Path) -> FeedAuth:
    if raw is None:
        return FeedAuth()
    if not isinstance(raw, dict):
        raise ConfigError(prefix, "must be a table")
    table = dict(raw)
    kind = table.pop("kind", "none")
    if kind not in _AUTH_FIELDS:
        raise ConfigError(
            f"{prefix}.kind", f"unknown auth kind {kind!r} (one of {list(_AUTH_FIELDS)})"
        )
    values: dict[str, Any] = {"kind": kind}
    for name, secret in _AUTH_FIELDS[kind].items():
        if secret:
            values[name] = _secret(prefix, table, name, env, base_dir, required=True)
        else:
            if name not in table and name != "scope":
                raise ConfigError(f"{prefix}.{name}", f"required for auth kind {kind!r}")
            values[name] = _typed(f"{prefix}.{name}", table.pop(name, None), str)
    if values.get("token_url") is not None:
        _check_url(f"{prefix}.token_url", values["token_url"])
    for key in table:
        raise ConfigError(f"{prefix}.{key}", f"unknown key for auth kind {kind!r}")
    try:
        return FeedAuth(**values)
    except AuthError as exc:
        raise ConfigError(prefix, str(exc)) from None


def seen_slug(raw: dict[str, Any]) -> str:
    return str(raw["slug"])


def _stay_settings(prefix: str, raw: Any, base: StaySettings) -> StaySettings:
    """``[ingest.stays]`` or an operator's ``stays`` table (docs/ingest.md "Stays")."""
    if not isinstance(raw, dict):
        raise ConfigError(prefix, "must be a table")
    parsed = _dataclass_from(prefix, raw, StaySettings)  # known keys, right types
    st = replace(base, **{k: getattr(parsed, k) for k in raw})
    if not 0 < st.drift_m <= 500:
        raise ConfigError(f"{prefix}.drift_m", "must be more than 0 and at most 500 metres")
    if not 0 <= st.grace_polls <= 10:
        raise ConfigError(f"{prefix}.grace_polls", "must be between 0 and 10")
    if not 0 < st.gap_s <= st.max_gap_s:
        raise ConfigError(f"{prefix}.gap_s", "must be positive and at most max_gap_s")
    return st


def _operator(prefix: str, raw: Any, env: dict[str, str], base_dir: Path) -> OperatorSettings:
    if not isinstance(raw, dict):
        raise ConfigError(prefix, "must be a table")
    allowed = {"slug", "name", "discovery_url", "auth", "version", "language", "feeds"}
    allowed |= {"poll_interval_s", "credential_hosts", "stays"}
    _reject_unknown(prefix, raw, allowed)
    for key in ("slug", "name", "discovery_url"):
        if key not in raw:
            raise ConfigError(f"{prefix}.{key}", "is required")
    slug = _typed(f"{prefix}.slug", raw["slug"], str)
    if not slug or not all(c.isalnum() or c in "-_" for c in slug):
        raise ConfigError(f"{prefix}.slug", "must be letters, digits, '-' or '_'")
    url = _typed(f"{prefix}.discovery_url", raw["discovery_url"], str)
    if "://" in url or url.lower().startswith(("http:", "https:")):
        _check_url(f"{prefix}.discovery_url", url)
    elif not Path(url).exists():
        raise ConfigError(
            f"{prefix}.discovery_url", "must be an http(s) URL or an existing local path"
        )
    hosts = _typed(f"{prefix}.credential_hosts", raw.get("credential_hosts", []), tuple)
    for i, host in enumerate(hosts):
        if "@" in host:
            raise ConfigError(f"{prefix}.credential_hosts[{i}]", _NO_URL_CREDENTIALS)
        if credential_origin(host) is None:
            raise ConfigError(
                f"{prefix}.credential_hosts[{i}]",
                "must be an origin such as 'https://files.op.example' (http or https, a host,"
                " an optional port; no path, query or credentials)",
            )
    interval = _typed(f"{prefix}.poll_interval_s", raw.get("poll_interval_s"), int)
    if interval is not None and interval <= 0:
        raise ConfigError(f"{prefix}.poll_interval_s", "must be positive")
    return OperatorSettings(
        slug=slug,
        name=_typed(f"{prefix}.name", raw["name"], str),
        discovery_url=url,
        auth=_auth(f"{prefix}.auth", raw.get("auth"), env, base_dir),
        version=_typed(f"{prefix}.version", raw.get("version"), str),
        language=_typed(f"{prefix}.language", raw.get("language"), str),
        feeds=_typed(f"{prefix}.feeds", raw.get("feeds", []), tuple),
        poll_interval_s=interval,
        credential_hosts=hosts,
    )


_NO_URL_CREDENTIALS = (
    "must not contain credentials (user:password@); give them in the operator's [auth]"
    " table, from an environment variable or a file"
)


def _check_url(key: str, url: str) -> None:
    """An absolute http(s) URL without credentials. The message never repeats the URL:
    it may hold a secret."""
    problem = url_problem(url)
    if problem is None:
        return
    if "credentials" in problem[1]:
        raise ConfigError(key, _NO_URL_CREDENTIALS)
    raise ConfigError(key, f"must be an absolute http(s) URL: it {problem[1]}")


def _apply_env_overrides(raw: dict[str, Any], env: dict[str, str]) -> None:
    for name, value in env.items():
        if not name.startswith("FLEET__"):
            continue
        parts = name[len("FLEET__") :].lower().split("__")
        if len(parts) != 2 or not all(parts):
            raise ConfigError(name, "environment overrides look like FLEET__SECTION__KEY")
        section, key = parts
        try:
            parsed = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(name, f"section {section!r} is not a table")
        table[key] = parsed
