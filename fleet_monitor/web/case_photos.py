"""Photos of on-site checks, taken with the tablet's camera.

The uploaded file is hostile input and personal data: it is decoded by Pillow
under a pixel limit (decompression bombs), re-encoded server-side as a JPEG
of at most ``MAX_SIDE`` pixels a side, turned upright from its EXIF
orientation and then written **without any metadata** (no EXIF, no GPS, no
camera serial, no ICC/XMP), and stored with the SHA-256 of what is stored.
Uploads above ``MAX_UPLOAD_BYTES`` are refused (413) before being read. Only
staff see the photos (they may show passers-by); operators never do.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet_monitor.models.case_photos import CasePhoto

MAX_UPLOAD_BYTES = 12 * 1024 * 1024  # a tablet camera's JPEG, with margin
MAX_PIXELS = 50_000_000  # decoded size limit (a 50 MP sensor)
MAX_SIDE = 2048
QUALITY = 82
FORMATS = frozenset({"JPEG", "PNG", "WEBP", "MPO"})


class PhotoError(ValueError):
    """The file is not a photo the service accepts (the message says why)."""


@dataclass(frozen=True, slots=True)
class Reencoded:
    data: bytes
    width: int
    height: int
    sha256: str


def reencode(raw: bytes) -> Reencoded:
    """``raw`` decoded, turned upright, scaled down and written as a bare JPEG."""
    if not raw:
        raise PhotoError("empty")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise PhotoError("too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as img:
                if img.format not in FORMATS:
                    raise PhotoError("format")
                if img.width * img.height > MAX_PIXELS:
                    raise PhotoError("too_large")
                img.load()
                upright = ImageOps.exif_transpose(img)
                picture = upright.convert("RGB")
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("format") from None
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, PhotoError):
            raise
        raise PhotoError("format") from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    # a new image from the pixels only: nothing of the file's metadata is carried over
    bare = Image.new("RGB", picture.size)
    bare.paste(picture)
    bare.save(out, format="JPEG", quality=QUALITY, optimize=True)
    data = out.getvalue()
    return Reencoded(data, bare.width, bare.height, hashlib.sha256(data).hexdigest())


def store_photo(
    s: Session, violation_id: int, note_id: int | None, photo: Reencoded, by: str, at: datetime
) -> CasePhoto:
    """The photo on the case (the same picture twice is kept once)."""
    existing = s.scalar(
        select(CasePhoto).where(
            CasePhoto.violation_id == violation_id, CasePhoto.sha256 == photo.sha256
        )
    )
    if existing is not None:
        return existing
    row = CasePhoto(
        violation_id=violation_id,
        note_id=note_id,
        sha256=photo.sha256,
        content_type="image/jpeg",
        size=len(photo.data),
        width=photo.width,
        height=photo.height,
        data=photo.data,
        uploaded_at=at,
        uploaded_by=by,
    )
    s.add(row)
    s.flush()
    return row


def case_photos(s: Session, violation_id: int) -> list[CasePhoto]:
    return list(
        s.scalars(
            select(CasePhoto)
            .where(CasePhoto.violation_id == violation_id)
            .order_by(CasePhoto.uploaded_at, CasePhoto.id)
        )
    )


def photo_data(s: Session, violation_id: int, sha256: str) -> bytes | None:
    return s.scalar(
        select(CasePhoto.data).where(
            CasePhoto.violation_id == violation_id, CasePhoto.sha256 == sha256
        )
    )


def allow_photo_uploads() -> None:
    """Before every request (registered ahead of CSRF protection, which reads the
    form): the on-site check alone may carry a photo above the app's 1 MiB limit."""
    from flask import abort, request

    if request.endpoint == "cases.on_site":
        limit = MAX_UPLOAD_BYTES + 256 * 1024
        # refused on its announced length, before the form parser opens a temporary file
        if request.content_length is not None and request.content_length > limit:
            abort(413)
        request.max_content_length = limit
