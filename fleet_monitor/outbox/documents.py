"""Shared pieces of the documents sent to operators and staff (notices, reports).

Documents are bilingual, French then English: the city works in French, the
operators are international, and one document (one content hash) serves every
recipient. The web UI, in contrast, is translated with Flask-Babel.

PDFs are printed from these HTML templates by ``fleet_monitor.printing``
(WeasyPrint, deterministic: see docs/documents.md).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from rules import registry


def rule_name(rule: str, lang: str = "fr") -> str:
    """A rule type's name in French or English, as ``rules.registry`` declares it."""
    return registry.rule_label(rule, lang)


def bilingual_rule(rule: str) -> str:
    return f"{rule_name(rule, 'fr')} / {rule_name(rule, 'en')}"


def local_time(value: datetime | None, tz: str, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """``value`` in ``tz`` (e.g. ``02/11/2026 10:00``); an em dash for None."""
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def iso_z(value: datetime | None) -> str | None:
    """UTC ISO 8601 with a ``Z`` (stable text for payloads and CSV)."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration_text(seconds: float | None) -> str:
    """``3 j 04:05`` style: days, then hours and minutes (bilingual-neutral: d/j)."""
    if seconds is None:
        return "—"
    total = round(seconds / 60)
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    core = f"{hours:02d}:{minutes:02d}"
    return f"{days} j/d {core}" if days else core


_ENVS: dict[str, Environment] = {}


def template_env(package: str) -> Environment:
    """Jinja environment for the e-mail templates of ``package`` (autoescaped)."""
    env = _ENVS.get(package)
    if env is None:
        env = Environment(
            loader=PackageLoader(package, "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["rule"] = bilingual_rule
        env.filters["duration"] = duration_text
        _ENVS[package] = env
    return env
