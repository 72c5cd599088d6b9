"""Location maps drawn in a notice's PDF from the payload (``notices.thumbnail``)."""

from __future__ import annotations

from typing import Any

from fleet_monitor.outbox.documents import DocumentPDF, pdf_text

#: fill (RGB) and whether the shape is filled, per zone kind
STYLE: dict[str, tuple[tuple[int, int, int], bool]] = {
    "water": ((150, 190, 230), True),
    "no_parking": ((240, 170, 170), True),
    "pedestrian": ((245, 225, 150), True),
    "mandatory_parking": ((160, 215, 160), True),
    "tram_tracks": ((110, 110, 110), False),
    "district": ((120, 120, 120), False),
}
LEGEND = (
    ("water", "Eau / Water"),
    ("no_parking", "Stationnement interdit / No parking"),
    ("pedestrian", "Zone piétonne / Pedestrian"),
    ("mandatory_parking", "Stationnement obligatoire / Parking area"),
)
SIZE = 40.0  # mm
GAP = 4.0


def draw_situations(pdf: DocumentPDF, items: list[dict[str, Any]]) -> None:
    maps = [it for it in items if it.get("map")]
    if not maps:
        return
    if pdf.get_y() + 10 + SIZE + 12 > pdf.page_break_trigger:
        pdf.add_page()  # the heading stays with its first row of maps
    pdf.heading("Plans de situation / Location maps")
    per_row = int((pdf.w - pdf.l_margin - pdf.r_margin + GAP) // (SIZE + GAP))
    for start in range(0, len(maps), per_row):
        if pdf.get_y() + SIZE + 10 > pdf.page_break_trigger:
            pdf.add_page()
        top = pdf.get_y()
        for i, it in enumerate(maps[start : start + per_row]):
            _one(pdf, it, pdf.l_margin + i * (SIZE + GAP), top)
        pdf.set_y(top + SIZE + 12)
    _legend(pdf)
    # leave the colours as the rest of the document expects them (tables fill with them)
    pdf.set_fill_color(255, 255, 255)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_text_color(0, 0, 0)


def _one(pdf: DocumentPDF, it: dict[str, Any], x0: float, y0: float) -> None:
    m = it["map"]
    radius = float(m.get("radius_m") or 120.0)
    k = SIZE / (2 * radius)  # mm per metre

    def at(p: list[float]) -> tuple[float, float]:
        return x0 + SIZE / 2 + p[0] * k, y0 + SIZE / 2 - p[1] * k

    pdf.set_fill_color(248, 248, 246)
    pdf.set_draw_color(160, 160, 160)
    pdf.set_line_width(0.2)
    pdf.rect(x0, y0, SIZE, SIZE, style="DF")
    for shape in m.get("shapes", []):
        color, filled = STYLE.get(shape["kind"], ((180, 180, 180), False))
        pts = [at(p) for p in shape["points"]]
        if len(pts) < 2:
            continue
        pdf.set_draw_color(*color)
        pdf.set_line_width(0.6 if shape["kind"] == "tram_tracks" else 0.25)
        if filled and len(pts) >= 3:
            pdf.set_fill_color(*color)
            pdf.polygon(pts, style="F")
        else:
            pdf.polyline(pts)
    # the vehicle, a north arrow and a scale bar of 50 m
    cx, cy = x0 + SIZE / 2, y0 + SIZE / 2
    pdf.set_fill_color(200, 20, 40)
    pdf.set_draw_color(255, 255, 255)
    pdf.set_line_width(0.3)
    pdf.circle(cx, cy, 1.4, style="DF")
    pdf.set_draw_color(40, 40, 40)
    pdf.set_line_width(0.3)
    pdf.line(x0 + 3, y0 + SIZE - 3, x0 + 3 + 50 * k, y0 + SIZE - 3)
    pdf.set_font("helvetica", size=5.5)
    pdf.text(x0 + 3, y0 + SIZE - 4, "50 m")
    pdf.text(x0 + SIZE - 4, y0 + 5, "N")
    pdf.line(x0 + SIZE - 3.2, y0 + 6, x0 + SIZE - 3.2, y0 + 9)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    zone = (it.get("zone") or {}).get("name") or it.get("district") or ""
    pdf.set_font("helvetica", style="B", size=6.5)
    pdf.text(x0, y0 + SIZE + 3.2, pdf_text(it["vehicle"]["gbfs_id"] or "—")[:28])
    pdf.set_font("helvetica", size=6)
    pdf.text(x0, y0 + SIZE + 6, pdf_text(zone)[:34])


def _legend(pdf: DocumentPDF) -> None:
    pdf.set_font("helvetica", size=6.5)
    x, y = pdf.l_margin, pdf.get_y()
    for kind, label in LEGEND:
        pdf.set_fill_color(*STYLE[kind][0])
        pdf.rect(x, y - 2.2, 3, 3, style="F")
        pdf.text(x + 4, y, pdf_text(label))
        x += 4 + pdf.get_string_width(pdf_text(label)) + 5
    pdf.set_fill_color(200, 20, 40)
    pdf.circle(x + 1.5, y - 0.7, 1.2, style="F")
    pdf.text(x + 4, y, pdf_text("Véhicule / Vehicle"))
    pdf.set_y(y + 4)
