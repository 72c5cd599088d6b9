"""A day's report figures for a city of four operators, as ``reports.figures`` makes
them (no database): the layout tests of the PDFs print these."""

from __future__ import annotations

from typing import Any

DAY = "2026-11-02"
PERIOD = {"start": "2026-11-01T23:00:00Z", "end": "2026-11-02T23:00:00Z"}


def operator_day(
    slug: str,
    name: str,
    *,
    cap: int | None,
    mean: float,
    top: int,
    over: int = 0,
    opened: int = 10,
    closed: int = 8,
    open_end: int = 3,
    overdue: int = 0,
    availability: float = 1.0,
    issued: int = 2,
    acknowledged: int = 1,
    disputed: int = 0,
    penalties: int = 0,
    penalties_eur: float = 0.0,
    vehicles: int = 6,
    disputes: tuple[int, int, int] = (0, 0, 0),
    coverage: float = 0.98,
) -> dict[str, Any]:
    d, up, rej = disputes
    return {
        "type": "operator",
        "day": DAY,
        "timezone": "Europe/Paris",
        "period": PERIOD,
        "operator": {"slug": slug, "name": name},
        "permit": {"version": 3, "name": "Permis 2026", "min_availability": 0.99},
        "fleet": {
            "cap": cap,
            "cap_clause": "art. 4.1" if cap else None,
            "method": "mean of the observed 5-minute samples",
            "methods_recorded": [],
            "samples": round(288 * coverage),
            "samples_expected": 288,
            "sample_coverage": coverage,
            "deployed_mean": mean,
            "deployed_max": top,
            "deployed_min": round(mean) - 20,
            "deployed_p95": top - 3,
            "cap_samples": 190,
            "cap_samples_expected": 192,
            "data_coverage_mean": 0.99,
            "samples_in_outage": 2,
            "cap_samples_without_position_max": 0,
            "samples_over_cap": over if cap else None,
        },
        "violations": [
            {
                "rule_type": "in_no_parking_area",
                "opened": opened - 1,
                "opened_uncertain": 1,
                "closed": closed - 1,
                "open_at_end": open_end,
                "overdue": overdue,
            },
            {
                "rule_type": "in_water",
                "opened": 1,
                "opened_uncertain": 0,
                "closed": 1,
                "open_at_end": 0,
                "overdue": 0,
            },
        ],
        "idle": {
            "at": "2026-11-02T02:30:00Z",
            "vehicles": round(mean * 0.8),
            "buckets": {
                "lt_1d": round(mean * 0.5),
                "1d_3d": round(mean * 0.2),
                "3d_7d": round(mean * 0.07),
                "7d_14d": 3,
                "ge_14d": 1,
            },
            "median_s": 52000.0,
            "p90_s": 280000.0,
            "lower_bound_share": 0.031,
        },
        "feed": {
            "fetches": 1440,
            "fetches_ok": round(1440 * availability),
            "fetch_success": availability,
            "failures": {"http": 3} if availability < 1 else {},
            "outage_s": {"unavailable": round((1 - availability) * 86400.0)}
            if availability < 1
            else {},
            "availability": availability,
            "records": 400000,
            "invalid_records": 12,
            "schema_errors": 0,
            "latency_median_ms": 183.0,
        },
        "notices": {
            "issued": issued,
            "urgent": 0,
            "vehicles": vehicles,
            "acknowledged": acknowledged,
            "disputed": disputed,
            "response_median_s": 7200.0,
            "response_max_s": 30000.0,
            "outcomes": {"remedied": 4, "overdue": overdue} if overdue else {"remedied": 4},
            "penalties": penalties,
            "penalties_eur": penalties_eur,
            "disputes": {
                "vehicles": vehicles,
                "disputed": d,
                "upheld": up,
                "rejected": rej,
                "dispute_rate": round(d / vehicles, 4) if vehicles else None,
                "acceptance_rate": round(up / (up + rej), 4) if up + rej else None,
            },
        },
    }


def four_operators() -> list[dict[str, Any]]:
    """Voi over its cap with vehicles overdue, TIER's feed below the permit's
    minimum, Vélo Léman clean, Bird over its cap on partial data."""
    return [
        operator_day(
            "voi",
            "Voi Technology",
            cap=525,
            mean=498.35,
            top=534,
            over=7,
            opened=23,
            closed=18,
            open_end=9,
            overdue=2,
            availability=0.9965,
            issued=4,
            acknowledged=3,
            disputed=1,
            penalties=2,
            penalties_eur=70.0,
            vehicles=12,
            disputes=(2, 1, 0),
        ),
        operator_day(
            "tier",
            "TIER Dott",
            cap=600,
            mean=552.1,
            top=589,
            availability=0.9712,
            issued=3,
            disputed=1,
            vehicles=9,
            disputes=(1, 0, 1),
        ),
        operator_day("velo", "Vélo Léman", cap=300, mean=210.4, top=244, open_end=2, issued=1),
        operator_day(
            "bird",
            "Bird Rides",
            cap=400,
            mean=388.9,
            top=401,
            over=2,
            overdue=1,
            availability=0.9931,
            issued=2,
            acknowledged=0,
            penalties=1,
            penalties_eur=35.0,
            vehicles=5,
            coverage=0.84,
        ),
    ]
