"""A resident's photo, re-encoded on the server: what is stored is pixels only.

The upload is decoded with Pillow (at most :data:`MAX_PIXELS` pixels: a
decompression bomb is refused before it is decoded), turned upright from its
EXIF orientation, reduced to :data:`MAX_SIDE` pixels on its longer side and
written again as a JPEG with no metadata at all: no EXIF (GPS position, camera,
owner), no XMP, no ICC profile, no comment. Anything Pillow cannot decode is
refused with a reason.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "MAX_PHOTO_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "THUMB_SIDE",
    "PhotoError",
    "reencode_photo",
    "thumbnail",
]

MAX_PHOTO_BYTES = 8 * 1024 * 1024  # as uploaded
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo; more is refused before decoding
MAX_SIDE = 1600
THUMB_SIDE = 160  # the thumbnail in a case file's timeline
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")


class PhotoError(ValueError):
    """The upload is not a photo the service accepts (the reason is the message)."""


def reencode_photo(data: bytes) -> tuple[bytes, str]:
    """The photo as a metadata-free JPEG, and its media type."""
    if not data:
        raise PhotoError("the file is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(f"the photo is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_FORMATS) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise PhotoError(f"the photo has more than {MAX_PIXELS:,} pixels")
                img.load()
                upright = ImageOps.exif_transpose(img) or img
                rgb = upright.convert("RGB")
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("the file is not a photo (JPEG, PNG, WebP...)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise PhotoError(f"the photo cannot be read ({type(exc).__name__})") from None
    rgb.thumbnail((MAX_SIDE, MAX_SIDE))
    clean = Image.new("RGB", rgb.size)  # pixels only: nothing of the original's info
    clean.paste(rgb)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue(), "image/jpeg"


def thumbnail(data: bytes, side: int = THUMB_SIDE) -> bytes:
    """A small JPEG of a stored photo (already re-encoded: pixels only)."""
    with Image.open(io.BytesIO(data), formats=("JPEG",)) as img:
        small = img.convert("RGB")
    small.thumbnail((side, side))
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return out.getvalue()
