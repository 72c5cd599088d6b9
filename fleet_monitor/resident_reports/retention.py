"""Residents' personal data are kept for the handling of their report, no longer.

Once a report has been closed for ``retention.resident_report_days`` days
(:data:`PRIVATE_RETENTION_DAYS` by default), its contact (name, e-mail,
telephone) and its photo are erased; the report itself (what, where, when, the
vehicles matched) stays for the statistics, with a tombstone: the photo's
SHA-256, when and why the data were erased. The daily job is
:mod:`fleet_monitor.retention`'s, with the photos of case files.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, text

#: Default days after closing before a report's contact and photo are erased
#: (``retention.resident_report_days``).
PRIVATE_RETENTION_DAYS = 90


def purge_private(conn: Connection, now: datetime, days: int = PRIVATE_RETENTION_DAYS) -> int:
    """Erase the contact and photo of reports closed more than ``days`` ago; returns how
    many reports were concerned. The photo's hash is kept (a tombstone)."""
    return conn.execute(
        text(
            "UPDATE resident_report SET contact_name = NULL, contact_email = NULL,"
            " contact_phone = NULL,"
            " photo_sha256 = CASE WHEN photo IS NULL THEN photo_sha256"
            "   ELSE encode(sha256(photo), 'hex') END,"
            " photo = NULL, private_erased_at = :now, private_erased_reason = :reason"
            " WHERE status = 'closed' AND closed_at < :limit AND (contact_name IS NOT NULL"
            " OR contact_email IS NOT NULL OR contact_phone IS NOT NULL OR photo IS NOT NULL)"
        ),
        {
            "now": now,
            "limit": now - timedelta(days=days),
            "reason": f"retention: report closed more than {days} days ago"
            " (retention.resident_report_days)",
        },
    ).rowcount
