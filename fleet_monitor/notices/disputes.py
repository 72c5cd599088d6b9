"""Per-vehicle disputes of a notice, with attachments, decided by a supervisor.

* ``open_dispute``: the operator disputes one vehicle of a notice of breach or
  a formal notice (once per vehicle), with its reasons and files (the
  operator's trip-log extract, photos). Files are checked where they enter:
  at most ``MAX_FILES`` per dispute, ``MAX_FILE_BYTES`` each, of a type
  recognised from their first bytes (PDF, PNG, JPEG) or UTF-8 text (CSV,
  plain text, JSON); the name is reduced to safe characters; each is stored
  with its SHA-256. A dispute may be opened until the notice's penalty
  statement is issued (the statement waits for open disputes to be decided).
  The first dispute also records the notice's response as ``disputed``.
* ``decide_dispute``: a supervisor upholds (the operator is right: the
  vehicle's penalty is void, or never created if the deadline is not yet
  checked, its case is dismissed, and the missed deadline no longer counts
  towards escalation) or rejects it (the penalty stands), always with reasons.

Every step is audited and shows in the case and notice timelines.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from datastore.connection import rowcount
from fleet_monitor.models.disputes import DisputeAttachment, NoticeDispute
from fleet_monitor.models.notices import Notice
from fleet_monitor.notices.actions import MAX_NOTE, ActionError, Actor, _audit, set_case_status

MAX_FILES = 5
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_TOTAL_BYTES = 10 * 1024 * 1024
TEXT_TYPES = {".csv": "text/csv", ".txt": "text/plain", ".json": "application/json"}


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    data: bytes


def safe_filename(name: str) -> str:
    """ASCII letters, digits, dot, dash and underscore; at most 80 characters."""
    base = unicodedata.normalize("NFKD", name.replace("\\", "/").rsplit("/", 1)[-1])
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base.encode("ascii", "ignore").decode()).strip("._")
    return (base or "file")[-80:]


def media_type(filename: str, data: bytes) -> str:
    """The type recognised from the content; ``ActionError('bad_file')`` otherwise."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in TEXT_TYPES and b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return TEXT_TYPES[ext]
    raise ActionError(
        "bad_file", f"{filename}: not a PDF, PNG, JPEG or UTF-8 text (CSV, TXT, JSON) file"
    )


def check_uploads(uploads: list[Upload]) -> list[tuple[str, str, bytes, str]]:
    """(safe name, media type, data, sha256) of each file, or ``ActionError``."""
    files = [u for u in uploads if u.data]
    if len(files) > MAX_FILES:
        raise ActionError("too_many_files", f"at most {MAX_FILES} files per dispute")
    if sum(len(u.data) for u in files) > MAX_TOTAL_BYTES:
        raise ActionError("too_large", f"at most {MAX_TOTAL_BYTES // 2**20} MB in all")
    out = []
    for u in files:
        name = safe_filename(u.filename)
        if len(u.data) > MAX_FILE_BYTES:
            raise ActionError("too_large", f"{name}: at most {MAX_FILE_BYTES // 2**20} MB a file")
        out.append((name, media_type(name, u.data), u.data, hashlib.sha256(u.data).hexdigest()))
    return out


def _statement_issued(session: Session, notice: Notice) -> bool:
    return bool(
        session.execute(
            text("SELECT 1 FROM notice WHERE operator_id = :op AND batch_key = :k"),
            {"op": notice.operator_id, "k": f"statement:{notice.id}"},
        ).first()
    )


def open_dispute(
    session: Session,
    notice_id: int,
    item_id: int,
    reason: str,
    uploads: list[Upload],
    actor: Actor,
    now: datetime,
) -> NoticeDispute:
    """The operator disputes one vehicle of a notice (see the module docstring)."""
    notice = session.execute(
        select(Notice).where(Notice.id == notice_id).with_for_update()
    ).scalar_one_or_none()
    if notice is None:
        raise ActionError("not_found", f"no notice {notice_id}")
    if notice.status not in ("issued", "closed") or notice.kind == "penalty_statement":
        raise ActionError("not_disputable", f"notice {notice.reference} cannot be disputed")
    if _statement_issued(session, notice):
        raise ActionError("statement_issued", "the penalty statement was already issued")
    item = session.execute(
        text(
            "SELECT id, violation_id FROM notice_item WHERE id = :i AND notice_id = :n AND active"
        ),
        {"i": item_id, "n": notice_id},
    ).first()
    if item is None:
        raise ActionError("not_found", "no such vehicle in this notice")
    reason = reason.strip()[:MAX_NOTE]
    if not reason:
        raise ActionError("reason_required", "a reason is required to dispute a vehicle")
    files = check_uploads(uploads)
    exists = session.execute(
        text("SELECT 1 FROM notice_dispute WHERE notice_item_id = :i"), {"i": item_id}
    ).first()
    if exists:
        raise ActionError("already", "this vehicle was already disputed")
    dispute = NoticeDispute(
        notice_id=notice_id,
        notice_item_id=item_id,
        violation_id=item[1],
        operator_id=notice.operator_id,
        reason=reason,
        submitted_at=now,
        submitted_by=actor.name,
        status="open",
    )
    session.add(dispute)
    session.flush()
    for name, kind, data, digest in files:
        if session.execute(
            text("SELECT 1 FROM dispute_attachment WHERE dispute_id = :d AND sha256 = :h"),
            {"d": dispute.id, "h": digest},
        ).first():
            continue  # the same file twice
        session.add(
            DisputeAttachment(
                dispute_id=dispute.id,
                filename=name,
                media_type=kind,
                size_bytes=len(data),
                sha256=digest,
                content=data,
                uploaded_at=now,
            )
        )
        session.flush()
    if notice.response is None:
        notice.response, notice.responded_at = "disputed", now
        notice.responded_by, notice.response_note = actor.name, reason
    _audit(
        session,
        "notice.dispute_opened",
        actor,
        notice.operator_id,
        notice=notice.reference,
        violation=item[1],
        files=[f"{n} sha256:{h}" for n, _k, _d, h in files],
    )
    return dispute


def decide_dispute(
    session: Session, dispute_id: int, decision: str, reason: str, actor: Actor, now: datetime
) -> NoticeDispute:
    """A supervisor upholds or rejects a dispute, with reasons (see the module docstring)."""
    if decision not in ("upheld", "rejected"):
        raise ActionError("bad_decision", "the decision is 'upheld' or 'rejected'")
    reason = reason.strip()[:MAX_NOTE]
    if not reason:
        raise ActionError("reason_required", "the decision needs its reasons")
    dispute = session.execute(
        select(NoticeDispute).where(NoticeDispute.id == dispute_id).with_for_update()
    ).scalar_one_or_none()
    if dispute is None:
        raise ActionError("not_found", f"no dispute {dispute_id}")
    if dispute.status != "open":
        raise ActionError("already", f"this dispute was already {dispute.status}")
    dispute.status, dispute.decided_at = decision, now
    dispute.decided_by, dispute.decision_reason = actor.name, reason
    void = 0
    if decision == "upheld":
        void = rowcount(
            session.execute(
                text(
                    "UPDATE penalty SET status = 'void' WHERE notice_item_id = :i AND status = 'due'"
                ),
                {"i": dispute.notice_item_id},
            )
        )
        set_case_status(
            session,
            dispute.violation_id,
            "dismissed",
            f"Contestation acceptée / dispute upheld: {reason}",
            actor,
            now,
            dispute.operator_id,
        )
    reference = session.execute(
        text("SELECT reference FROM notice WHERE id = :n"), {"n": dispute.notice_id}
    ).scalar_one()
    _audit(
        session,
        f"notice.dispute_{decision}",
        actor,
        dispute.operator_id,
        notice=reference,
        violation=dispute.violation_id,
        penalties_void=void,
    )
    return dispute


def disputes_of(
    session: Session, *, notice_id: int | None = None, violation_id: int | None = None
) -> list[dict[str, Any]]:
    """Disputes of a notice or of a violation, each with its attachments (no content)."""
    rows = [
        dict(r)
        for r in session.execute(
            text(
                "SELECT d.*, n.reference, i.gbfs_id FROM notice_dispute d"
                " JOIN notice n ON n.id = d.notice_id"
                " JOIN notice_item i ON i.id = d.notice_item_id"
                " WHERE (CAST(:n AS bigint) IS NULL OR d.notice_id = :n)"
                " AND (CAST(:v AS bigint) IS NULL OR d.violation_id = :v) ORDER BY d.id"
            ),
            {"n": notice_id, "v": violation_id},
        ).mappings()
    ]
    for d in rows:
        d["attachments"] = [
            dict(a)
            for a in session.execute(
                text(
                    "SELECT id, filename, media_type, size_bytes, sha256 FROM dispute_attachment"
                    " WHERE dispute_id = :d ORDER BY id"
                ),
                {"d": d["id"]},
            ).mappings()
        ]
    return rows


def timeline_entries(disputes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The exchange as timeline entries: each dispute, then its decision."""
    out = []
    for d in disputes:
        out.append({"at": d["submitted_at"], "kind": "dispute", "dispute": d})
        if d["decided_at"] is not None:
            out.append({"at": d["decided_at"], "kind": f"dispute_{d['status']}", "dispute": d})
    return out
