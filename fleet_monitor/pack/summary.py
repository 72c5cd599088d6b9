"""Page one of the pack: key figures (cards) and plain sentences made from the
scorecards and the statistics report, never from figures of their own."""

from __future__ import annotations

from datetime import date
from typing import Any

from fleet_monitor.pack import fmt
from fleet_monitor.pack.scorecard import Scorecard, confirmed
from fleet_monitor.stats.periods import Period
from rules.registry import rule_label


def _row(card: Scorecard, key: str) -> Any:
    return next((r for r in card.rows if r.key == key), None)


def _notices(report: dict[str, Any], slug: str) -> dict[str, Any] | None:
    return next((r for r in report["sections"]["notices"]["rows"] if r["operator"] == slug), None)


def kpis(cards: list[Scorecard], report: dict[str, Any]) -> list[dict[str, Any]]:
    """Six cards: value, label, flagged when a limit was passed."""
    fleet_rows = report["sections"]["fleet"]["rows"]
    total = next((r for r in fleet_rows if r["operator"] == "*"), None)
    mean = (
        total["deployed_avg"]
        if total is not None
        else sum(r["deployed_avg"] or 0 for r in fleet_rows) or None
    )
    over = max((c.fleet.days_over for c in cards), default=0)
    breaches = sum(len(c.breaches) for c in cards)
    clauses = sum(1 for c in cards for r in c.rows if r.status in ("respecte", "depasse"))
    findings = sum(
        confirmed(r) for r in report["sections"]["violations"]["rows"] if r["operator"] != "*"
    )
    notices = [n for c in cards if (n := _notices(report, c.slug)) is not None]
    issued = sum(n["issued"] for n in notices)
    decided = sum(n["with_outcome"] for n in notices)
    overdue = sum(n["overdue"] for n in notices)
    disputed = sum(n["vehicles_disputed"] for n in notices)
    noticed = sum(n["vehicles_noticed"] for n in notices)
    upheld = sum(n["disputes_upheld"] for n in notices)
    return [
        {
            "value": fmt.num(mean, 0 if mean is None or mean >= 100 else 1),
            "label": "véhicules déployés en moyenne",
            "flag": False,
        },
        {
            "value": f"{fmt.num(breaches)} / {fmt.num(clauses)}",
            "label": "clauses dépassées / clauses évaluées",
            "flag": breaches > 0,
        },
        {
            "value": fmt.num(over),
            "label": "jours au-dessus du plafond de flotte (opérateur le plus concerné)",
            "flag": over > 0,
        },
        {"value": fmt.num(findings), "label": "infractions confirmées", "flag": False},
        {
            "value": fmt.num(issued),
            "label": (
                f"avis émis ; délais tenus {fmt.num(decided - overdue)} sur {fmt.num(decided)}"
                if decided
                else "avis émis"
            ),
            "flag": overdue > 0,
        },
        {
            "value": f"{fmt.num(disputed)} / {fmt.num(noticed)}",
            "label": "véhicules contestés / véhicules notifiés"
            + (
                f" ; {fmt.plural(upheld, 'contestation admise', 'contestations admises')}"
                if upheld
                else ""
            ),
            "flag": False,
        },
    ]


def summary_sentences(
    period: Period,
    names: list[str],
    cards: list[Scorecard],
    report: dict[str, Any],
    coverage: dict[str, Any],
) -> list[str]:
    """Four to six sentences, each from figures of the scorecards or the report: the
    period and its data, the fleet caps, the breaches, the notices, the feeds."""
    from fleet_monitor.pack.document import period_words

    aggregated, days = report["aggregation"]["aggregated"], report["aggregation"]["days"]
    share = coverage.get("coverage")
    out = [
        f"Période : {period_words(period)} ({fmt.plural(period.n_days, 'jour')}) ;"
        f" {'opérateur suivi' if len(names) == 1 else 'opérateurs suivis'} :"
        f" {', '.join(names)} ; "
        + (
            f"{fmt.pct(share)} des relevés de flotte (toutes les 5 minutes) disponibles"
            if share is not None
            else "aucun relevé de flotte disponible"
        )
        + f", {fmt.plural(aggregated, 'jour calculé', 'jours calculés')} sur {fmt.num(days)}."
    ]
    if not aggregated:
        out.append("Aucune donnée n’a été agrégée pour cette période : rien ne peut en être dit.")
    within = []
    for card in cards:
        f = card.fleet
        if f.cap is None or f.max_deployed is None:
            continue
        peak_day = fmt.day(date.fromisoformat(f.max_day)) if f.max_day else fmt.DASH
        if f.days_over:
            out.append(
                f"{card.name} a dépassé son plafond de {fmt.num(f.cap)} véhicules"
                f" {f.days_over} jour{'s' if f.days_over > 1 else ''} sur {period.n_days}"
                f" (maximum {fmt.num(f.max_deployed)} le {peak_day})."
            )
        else:
            within.append(
                f"{card.name} (plafond {fmt.num(f.cap)}, maximum {fmt.num(f.max_deployed)})"
            )
    if within:
        out.append(
            (
                f"{within[0]} est resté sous son plafond"
                if len(within) == 1
                else f"{', '.join(within[:-1])} et {within[-1]} sont restés sous leur plafond"
            )
            + " tous les jours observés."
        )
    rules = [r for r in report["sections"]["violations"]["by_rule"] if r["operator"] != "*"]
    total = sum(confirmed(r) for r in rules)
    if total:
        by_rule: dict[str, int] = {}
        for r in rules:
            by_rule[r["rule_type"]] = by_rule.get(r["rule_type"], 0) + confirmed(r)
        top, n = max(by_rule.items(), key=lambda kv: (kv[1], kv[0]))
        out.append(
            "Les règles ont relevé "
            f"{fmt.plural(total, 'infraction confirmée', 'infractions confirmées')},"
            f" surtout « {rule_label(top, 'fr')} » ({fmt.num(n)})."
        )
    else:
        out.append("Aucune infraction confirmée n’a été relevée sur la période.")
    answered = [
        row for c in cards if (row := _notices(report, c.slug)) is not None and row["issued"]
    ]
    if answered:
        issued = sum(r["issued"] for r in answered)
        decided = sum(r["with_outcome"] for r in answered)
        overdue = sum(r["overdue"] for r in answered)
        disputed = sum(r["vehicles_disputed"] for r in answered)
        noticed = sum(r["vehicles_noticed"] for r in answered)
        out.append(
            f"{fmt.plural(issued, 'avis émis', 'avis émis')} ; délais tenus"
            f" {fmt.num(decided - overdue)} sur {fmt.num(decided)} ;"
            f" {fmt.plural(disputed, 'véhicule contesté', 'véhicules contestés')}"
            f" sur {fmt.plural(noticed, 'notifié')}."
        )
    else:
        out.append("Aucun avis n’a été émis aux opérateurs sur la période.")
    for c in cards:
        below = c.months_below
        if below:
            months = ", ".join(f"{fmt.pct(a, 2)} en {fmt.month(m)}" for m, a in below)
            out.append(
                f"Le flux de données de {c.name} a été disponible moins que le minimum de"
                f" {fmt.pct(c.min_availability)} exigé par le permis : {months}."
            )
    return out
