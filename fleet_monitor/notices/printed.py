"""A notice's PDF: printed once, at its first need, from the payload frozen at issue.

Decision (kept in docs/documents.md): issuing a notice freezes its JSON payload
(every fact, figure, clause and link of the act) but does not print it. The PDF
is printed the first time something needs it, i.e. its first delivery (the
e-mail attachment, the webhook's ``pdf_sha256``), a download from the notice
page or the respond link, or the API's notice detail, and then stored with its
SHA-256, which every later use serves byte for byte. Why:

* printing takes about a second per notice (WeasyPrint), which held the issuing
  transaction (and the planner's lock on the operator's violations) that long;
* the act as printed is the act as first sent, so the stored hash is the hash
  of what the operator received;
* printing is deterministic (same payload, same bytes; tested), so printing
  later gives the same document as printing at issue would have.

The notice's row is locked while it is printed, so two deliveries sent at once
print it once. Each printing is recorded in the audit log with its hash.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from fleet_monitor.notices.document import pdf_sha256, render_pdf
from fleet_monitor.users import record_audit

PRINTABLE = ("issued", "closed")  # a draft has no payload yet; a cancelled act is not sent


def notice_pdf(
    session: Session, notice_id: int, logo_path: str | None, *, why: str
) -> tuple[bytes, str] | None:
    """(PDF, SHA-256) of the notice, printed now if it never was; None if it has no act.

    ``why`` says what needed it (``delivery``, ``download``, ``api``...), for the
    audit log. The caller owns the transaction: the printed PDF is stored when it
    commits.
    """
    row = session.execute(
        text(
            "SELECT pdf, pdf_sha256, payload, status, reference, operator_id FROM notice"
            " WHERE id = :id FOR UPDATE"
        ),
        {"id": notice_id},
    ).first()
    if row is None:
        return None
    pdf, digest, payload, status, reference, operator_id = row
    if pdf is not None and digest is not None:
        return bytes(pdf), str(digest)
    if payload is None or status not in PRINTABLE:
        return None
    data = render_pdf(payload, logo_path)
    digest = pdf_sha256(data)
    session.execute(
        text("UPDATE notice SET pdf = :pdf, pdf_sha256 = :sha WHERE id = :id"),
        {"pdf": data, "sha": digest, "id": notice_id},
    )
    record_audit(
        session,
        "notice.printed",
        actor_email="system",
        operator_id=operator_id,
        details={"notice": reference, "pdf_sha256": digest, "for": why, "bytes": len(data)},
    )
    return data, digest
