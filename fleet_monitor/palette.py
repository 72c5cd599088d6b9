"""Colours shared by the map and the statistics charts (one operator, one colour)."""

# Distinct colours, readable on a light base map (Okabe-Ito first, then more).
PALETTE = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#7B3294",
    "#8C510A",
    "#1B7837",
    "#B2182B",
    "#4D4D4D",
    "#F0E442",
)
