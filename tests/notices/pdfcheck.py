"""PDF checks with the real poppler tools: text (pdftotext) and pages as PNG (pdftoppm)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

from PIL import Image


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} (poppler-utils) is required: apt-get install poppler-utils"
    return path


def pdf_text(data: bytes, tmp: Path) -> str:
    src = tmp / "doc.pdf"
    src.write_bytes(data)
    out = subprocess.run(
        [_tool("pdftotext"), "-layout", str(src), "-"], capture_output=True, check=True
    )
    return out.stdout.decode()


def pdf_pages(data: bytes, tmp: Path, name: str = "page") -> list[Path]:
    """Every page rendered to PNG (100 dpi); each is checked to show something."""
    src = tmp / f"{name}.pdf"
    src.write_bytes(data)
    subprocess.run([_tool("pdftoppm"), "-r", "100", "-png", str(src), str(tmp / name)], check=True)
    pages = sorted(tmp.glob(f"{name}-*.png"))
    for page in pages:
        with Image.open(page) as img:
            grey = img.convert("L")
            dark = sum(grey.histogram()[:200])  # pixels clearly not white
            assert dark > 2000, f"{page.name} is (nearly) empty"
    return pages


def tiny_png(path: Path, rgb: tuple[int, int, int] = (30, 60, 110), size: int = 48) -> Path:
    """A plain square PNG, written by hand (a logo for the letterhead)."""
    row = b"\x00" + bytes(rgb) * size
    raw = zlib.compress(row * size)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    )
    return path


def pdf_image_pages(data: bytes, tmp: Path) -> list[int]:
    """The page number of every raster image in the PDF (pdfimages -list)."""
    src = tmp / "images.pdf"
    src.write_bytes(data)
    out = subprocess.run(
        [_tool("pdfimages"), "-list", str(src)], capture_output=True, check=True, text=True
    ).stdout.splitlines()
    return [int(line.split()[0]) for line in out[2:] if line.strip()]


def qr_codes(png: Path) -> list[str]:
    """The text of every QR code on a page image (zbar, as a phone's reader would)."""
    from pyzbar.pyzbar import ZBarSymbol, decode

    with Image.open(png) as img:
        return [s.data.decode() for s in decode(img.convert("L"), symbols=[ZBarSymbol.QRCODE])]


def pdf_qr_codes(data: bytes, tmp: Path) -> list[str]:
    """The QR codes printed anywhere in the PDF, pages rendered at 200 dpi."""
    src = tmp / "qr.pdf"
    src.write_bytes(data)
    subprocess.run([_tool("pdftoppm"), "-r", "200", "-png", str(src), str(tmp / "qr")], check=True)
    return [code for page in sorted(tmp.glob("qr-*.png")) for code in qr_codes(page)]
