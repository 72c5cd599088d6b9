"""Each operator against each clause of its permit, for one period.

Every measured figure comes from a shared definition, never recomputed here:

* fleet: the statistics' daily deployed maximum (``stats.report`` fleet section,
  observed 5-minute samples) against the cap in force that day (``stats.caps``);
* zone caps, idle, disabled, parking: findings opened by the rules engine
  (``stats_violation_day`` via the violations section; ``uncertain`` findings,
  within the GPS tolerance of a border, are counted apart and never a breach);
* notices: the notices section (``notices.issued``: response times, deadlines
  met, past deadline without an outcome);
* feed availability: ``history.feed_health`` (``1 - outage seconds / seconds``)
  per calendar month, against the permit's monthly minimum;
* disputes: ``notices.dispute_figures`` (dispute and acceptance rates).

A status is ``respecte`` (within the limit), ``depasse`` (over it at least
once), ``sans_donnees`` (no data to judge: no sample, no rules evaluation, no
notice), ``non_prevu`` (the permit has no such clause; what was measured is
still shown) or ``information`` (a figure no permit limits: disputes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fleet_monitor.pack import fmt
from fleet_monitor.stats.caps import days_over_cap
from rules import Permit
from rules.findings import PROHIBITED_KIND_RULES
from rules.registry import rule_label

STATUS_LABELS = {
    "respecte": "respecté",
    "depasse": "dépassé",
    "sans_donnees": "pas de données",
    "information": "pour information",
    "non_prevu": "non prévu au permis",
}
PARKING_RULES = (
    "in_water",
    "on_tram_tracks",
    "in_no_parking_area",
    "in_pedestrian_area",
    "outside_mandatory_parking",
    "outside_operating_area",
    "scheduled_restriction",
)


@dataclass(slots=True)
class ClauseRow:
    key: str
    clause: str
    article: str
    limit: str
    measured: str
    status: str
    detail: str = ""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(slots=True)
class FleetFacts:
    """The fleet cap clause in numbers (for the summary sentences and the KPI cards)."""

    cap: int | None = None
    days_with_data: int = 0
    days_over: int = 0
    max_deployed: int | None = None
    mean_deployed: float | None = None
    max_day: str | None = None


@dataclass(slots=True)
class Scorecard:
    slug: str
    name: str
    permit_name: str
    rows: list[ClauseRow] = field(default_factory=list)
    fleet: FleetFacts = field(default_factory=FleetFacts)
    #: (first day of the month, availability) and the permit's monthly minimum
    availability: list[tuple[date, float | None]] = field(default_factory=list)
    min_availability: float | None = None

    @property
    def months_below(self) -> list[tuple[date, float]]:
        floor = self.min_availability
        return [(m, a) for m, a in self.availability if a is not None and floor and a < floor]

    @property
    def breaches(self) -> list[ClauseRow]:
        return [r for r in self.rows if r.status == "depasse"]


def _by_operator(rows: list[dict[str, Any]], slug: str) -> list[dict[str, Any]]:
    return [r for r in rows if r.get("operator") == slug]


def _article(permit: Permit | None, rule: str) -> str:
    if permit is None:
        return ""
    clause = permit.legal.clauses.get(rule)
    return clause.article if clause is not None else ""


def fleet_row(
    report: dict[str, Any], slug: str, permit: Permit | None
) -> tuple[ClauseRow, FleetFacts]:
    section = report["sections"]["fleet"]
    caps = section.get("caps", {}).get(slug, {})
    facts = FleetFacts()
    head = next(iter(_by_operator(section["rows"], slug)), {})
    facts.mean_deployed = head.get("deployed_avg")
    daily = _by_operator(section["daily"], slug)
    facts.days_over = days_over_cap(daily, caps)
    for d in daily:
        peak = d.get("deployed_max")
        if peak is None:
            continue
        facts.days_with_data += 1
        if facts.max_deployed is None or peak > facts.max_deployed:
            facts.max_deployed, facts.max_day = peak, d["day"]
    values = sorted(set(caps.values()))
    facts.cap = values[-1] if values else None
    limit = (
        "non fixé"
        if not values
        else f"{fmt.num(values[0])} véhicules"
        if len(values) == 1
        else f"{fmt.num(values[0])} à {fmt.num(values[-1])} véhicules"
    )
    n_days = report["period"]["days"]
    if facts.max_deployed is None:
        measured, status = "aucun échantillon observé", "sans_donnees"
    else:
        measured = (
            f"maximum journalier {fmt.num(facts.max_deployed)}"
            f" (le {fmt.day(date.fromisoformat(facts.max_day or ''))}),"
            f" moyenne {fmt.num(facts.mean_deployed, 1)}"
        )
        if values:
            measured += f" ; au-dessus du plafond {facts.days_over} j sur {n_days}"
        status = "non_prevu" if not values else "depasse" if facts.days_over else "respecte"
    detail = (
        f"{fmt.num(facts.days_with_data)} jours avec données ; échantillons toutes les 5 minutes"
    )
    row = ClauseRow(
        "fleet_cap",
        "Plafond de flotte",
        _article(permit, "fleet_cap"),
        limit,
        measured,
        status,
        detail,
    )
    return row, facts


def confirmed(row: dict[str, Any]) -> int:
    """Confirmed findings of a violations row: opened, less the uncertain ones (within
    the GPS tolerance of a border: shown, never billed, never a breach here)."""
    return int(row["opened"]) - int(row["uncertain"])


def _rule_counts(report: dict[str, Any], slug: str, rule: str) -> tuple[int, int]:
    """(confirmed, uncertain) findings of ``rule`` opened in the period."""
    rows = [r for r in report["sections"]["violations"]["by_rule"] if r["operator"] == slug]
    row = next((r for r in rows if r["rule_type"] == rule), None)
    if row is None:
        return 0, 0
    return confirmed(row), row["uncertain"]


def _finding_row(
    report: dict[str, Any],
    slug: str,
    permit: Permit | None,
    rule: str,
    clause: str,
    limit: str,
) -> ClauseRow:
    confirmed, uncertain = _rule_counts(report, slug, rule)
    runs = report["sections"]["violations"]["coverage"].get("rules_runs", 0)
    measured = fmt.plural(confirmed, "constat") if confirmed else "aucun constat"
    if uncertain:
        measured += f" (+ {fmt.num(uncertain)} incertain{'s' if uncertain > 1 else ''})"
    status = "depasse" if confirmed else "respecte" if runs else "sans_donnees"
    if limit == "non fixé" and not confirmed:
        status = "non_prevu"
    return ClauseRow(
        rule,
        clause,
        _article(permit, rule),
        limit,
        measured,
        status,
        f"{fmt.num(runs)} évaluations des règles dans la période",
    )


def _idle_context(report: dict[str, Any], slug: str) -> str:
    """The statistics' daily idle sample (CROW indicator), beside the findings."""
    section = report["sections"].get("idle")
    row = next(iter(_by_operator(section["rows"], slug)), None) if section else None
    if row is None or row.get("over_3d") is None:
        return ""
    return (
        f"relevé quotidien : {fmt.pct(row['over_3d'])} des véhicules garés depuis 3 jours"
        f" ou plus, {fmt.pct(row['over_7d'])} depuis 7 jours ou plus"
    )


def _disabled_context(report: dict[str, Any], slug: str) -> str:
    row = next(iter(_by_operator(report["sections"]["fleet"]["rows"], slug)), None)
    if row is None or row.get("disabled_avg") is None:
        return ""
    if not row["disabled_avg"]:
        return "aucun véhicule hors service dans les relevés"
    return f"en moyenne {fmt.num(row['disabled_avg'], 1)} véhicules hors service dans les relevés"


def _with_context(row: ClauseRow, context: str) -> ClauseRow:
    if context:
        row.detail = f"{context} ; {row.detail}"
    return row


def _with_zone_samples(
    row: ClauseRow,
    caps: dict[str, int],
    zone_daily: dict[str, list[dict[str, Any]]],
    names: dict[str, str],
) -> ClauseRow:
    """The zone caps clause with each capped statistics zone's daily maximum (observed
    samples) against its cap: over it on a day is a breach, as for the fleet cap."""
    parts = []
    for zone, cap in sorted(caps.items()):
        daily = zone_daily.get(zone)
        if daily is None:
            continue
        peaks = [d["deployed_max"] for d in daily if d.get("deployed_max") is not None]
        if not peaks:
            continue
        over = days_over_cap(daily, {d["day"]: cap for d in daily})
        parts.append(
            f"{names.get(zone, zone)} : maximum journalier {fmt.num(max(peaks))},"
            f" au-dessus du plafond {over} j sur {len(daily)}"
        )
        if over:
            row.status = "depasse"
        elif row.status == "sans_donnees":
            row.status = "respecte"
    if parts:
        row.measured = " ; ".join([*parts, row.measured])
    return row


def _duration(td: Any) -> str:
    return "non fixé" if td is None else fmt.hours(td.total_seconds() / 3600)


def notices_row(report: dict[str, Any], slug: str, permit: Permit | None) -> ClauseRow:
    row = next(iter(_by_operator(report["sections"]["notices"]["rows"], slug)), None)
    limit = "non fixé"
    if permit is not None:
        n = permit.notices
        limit = (
            f"{fmt.hours(n.day_deadline.total_seconds() / 3600)} le jour"
            f" ({n.day_start:%H:%M}–{n.day_end:%H:%M}),"
            f" {fmt.hours(n.night_deadline.total_seconds() / 3600)} la nuit"
        )
    if row is None or not row["issued"]:
        return ClauseRow(
            "notices", "Délai de réponse aux avis", "", limit, "aucun avis émis", "sans_donnees"
        )
    decided, overdue = row["with_outcome"], row["overdue"]
    late = row["past_deadline_without_outcome"]
    measured = (
        f"{fmt.plural(row['issued'], 'avis', 'avis')} ; délais tenus"
        f" {fmt.num(decided - overdue)} sur {fmt.num(decided)}"
    )
    if late:
        measured += f" ; {fmt.num(late)} en retard sans suite"
    if row["response_median_h"] is not None:
        measured += f" ; réponse médiane {fmt.hours(row['response_median_h'])}"
    status = "depasse" if overdue or late else "respecte" if decided else "sans_donnees"
    return ClauseRow(
        "notices",
        "Délai de réponse aux avis",
        "",
        limit,
        measured,
        status,
        f"{fmt.num(row['responded'])} réponses ; 90e centile {fmt.hours(row['response_p90_h'])}",
    )


def availability_row(
    slug: str, permit: Permit | None, monthly: list[tuple[date, float | None]]
) -> ClauseRow:
    minimum = permit.data.min_monthly_availability if permit is not None else None
    limit = "non fixé" if minimum is None else f"au moins {fmt.pct(minimum)} par mois"
    known = [(m, a) for m, a in monthly if a is not None]
    if not known:
        return ClauseRow(
            "monthly_availability",
            "Disponibilité du flux de données",
            _article(permit, "monthly_availability"),
            limit,
            "aucune interrogation du flux",
            "sans_donnees",
        )
    worst_month, worst = min(known, key=lambda x: x[1] or 0.0)
    below = [m for m, a in known if minimum is not None and a is not None and a < minimum]
    measured = f"mois le plus bas : {fmt.pct(worst, 2)} ({fmt.month(worst_month)})"
    if minimum is not None:
        measured += f" ; {len(below)} mois sur {len(known)} sous le minimum"
    status = "non_prevu" if minimum is None else "depasse" if below else "respecte"
    return ClauseRow(
        "monthly_availability",
        "Disponibilité du flux de données",
        _article(permit, "monthly_availability"),
        limit,
        measured,
        status,
        "1 − durée des pannes / durée du mois",
    )


def disputes_row(report: dict[str, Any], slug: str) -> ClauseRow:
    row = next(iter(_by_operator(report["sections"]["notices"]["rows"], slug)), None)
    if row is None or not row["vehicles_noticed"]:
        return ClauseRow(
            "disputes", "Contestations", "", "—", "aucun véhicule notifié", "sans_donnees"
        )
    decided = row["disputes_upheld"] + row["disputes_rejected"]
    measured = (
        f"taux de contestation {fmt.pct(row['dispute_rate'])}"
        f" ({fmt.num(row['vehicles_disputed'])} sur {fmt.num(row['vehicles_noticed'])} véhicules)"
    )
    if decided:
        measured += (
            f" ; acceptées par la ville {fmt.pct(row['acceptance_rate'])}"
            f" ({fmt.num(row['disputes_upheld'])} sur {fmt.num(decided)})"
        )
    return ClauseRow("disputes", "Contestations", "", "—", measured, "information")


def _parking_rules(permit: Permit | None) -> set[str]:
    """The parking rules a permit sets (prohibited kinds, mandatory areas, its clauses)."""
    if permit is None:
        return set()
    out = {
        str(PROHIBITED_KIND_RULES[k]) for k in permit.prohibited_kinds if k in PROHIBITED_KIND_RULES
    }
    if permit.parking.mandatory:
        out.add("outside_mandatory_parking")
    out.add("outside_operating_area")
    return out | {r for r in PARKING_RULES if _article(permit, r)}


def scorecard(
    report: dict[str, Any],
    slug: str,
    name: str,
    permit: Permit | None,
    monthly_availability: list[tuple[date, float | None]],
    zone_daily: dict[str, list[dict[str, Any]]] | None = None,
    zone_names: dict[str, str] | None = None,
) -> Scorecard:
    """``zone_daily``: for the permit's capped zones that are statistics zones, the
    operator's fleet section ``daily`` rows filtered on that zone (the statistics'
    own figure, as ``/stats?zone=...`` shows it)."""
    card = Scorecard(slug, name, permit.name if permit is not None else "")
    card.availability = list(monthly_availability)
    card.min_availability = permit.data.min_monthly_availability if permit is not None else None
    fleet, facts = fleet_row(report, slug, permit)
    card.fleet = facts
    card.rows.append(fleet)
    zone_caps = dict(permit.zone_caps) if permit is not None else {}
    names = zone_names or {}
    zones = _finding_row(
        report,
        slug,
        permit,
        "zone_cap",
        "Plafonds par zone",
        "; ".join(f"{names.get(z, z)} : {fmt.num(c)}" for z, c in sorted(zone_caps.items()))
        or "non fixé",
    )
    card.rows.append(_with_zone_samples(zones, zone_caps, zone_daily or {}, names))
    idle = _finding_row(
        report,
        slug,
        permit,
        "idle_too_long",
        "Immobilisation prolongée (engin abandonné)",
        _duration(permit.max_idle if permit else None),
    )
    card.rows.append(_with_context(idle, _idle_context(report, slug)))
    disabled = _finding_row(
        report,
        slug,
        permit,
        "disabled_too_long",
        "Retrait des engins hors service",
        _duration(permit.max_disabled if permit else None),
    )
    card.rows.append(_with_context(disabled, _disabled_context(report, slug)))
    in_permit = _parking_rules(permit)
    for rule in PARKING_RULES:
        confirmed, uncertain = _rule_counts(report, slug, rule)
        if confirmed or uncertain or rule in in_permit:
            card.rows.append(
                _finding_row(report, slug, permit, rule, rule_label(rule, "fr"), "interdit")
            )
    card.rows.append(notices_row(report, slug, permit))
    card.rows.append(availability_row(slug, permit, monthly_availability))
    card.rows.append(disputes_row(report, slug))
    return card
