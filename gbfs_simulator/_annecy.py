"""Raw geography of the simulated city, modelled on Annecy (Haute-Savoie, France).

Every shape here is an *approximation* drawn by hand from public facts (the
position of the railway station, the old town around the Thiou canal, the
northern shore of the lake, the six communes merged in 2017). None of it is a
survey: borders are simplified to a few vertices and shared between
neighbouring districts so that they tile without gaps. Coordinates are WGS 84
``(lon, lat)`` in the GeoJSON order.

This module is the single source of truth; ``city.py`` turns it into GeoJSON
FeatureCollections (``python -m gbfs_simulator export-city`` rewrites the files
in ``data/annecy/``).

Annecy has no tram. For the rules engine's "tram tracks" zone kind we publish
the railway line through the station and the three main bus corridors as
LineStrings, each tagged with ``line_kind`` (``railway`` / ``bus_corridor``).
"""

from __future__ import annotations

Coord = tuple[float, float]

# Shared district vertices (lon, lat), so the communes tile without gaps.
_P1: Coord = (6.0700, 45.8950)
_P2: Coord = (6.1080, 45.8930)
_P3: Coord = (6.1180, 45.8780)
_P4: Coord = (6.1400, 45.8720)
_P5: Coord = (6.1420, 45.9000)  # in the lake; the operating area clips it
_P6: Coord = (6.1385, 45.9120)
_P7: Coord = (6.1200, 45.9180)
_P8: Coord = (6.1050, 45.9150)
_P9: Coord = (6.0720, 45.9180)
_P10: Coord = (6.1180, 45.9350)
_P11: Coord = (6.0800, 45.9320)
_P12: Coord = (6.1500, 45.9400)

# (slug, name, INSEE code of the former commune, ring)
DISTRICTS: list[tuple[str, str, str, list[Coord]]] = [
    ("annecy", "Annecy", "74010", [_P2, _P3, _P4, _P5, _P6, _P7, _P8]),
    (
        "annecy-le-vieux",
        "Annecy-le-Vieux",
        "74011",
        [
            _P7,
            _P6,
            _P5,
            (6.1550, 45.9030),
            (6.1800, 45.8970),
            (6.1920, 45.9120),
            (6.1850, 45.9350),
            _P12,
            _P10,
        ],
    ),
    (
        "seynod",
        "Seynod",
        "74268",
        [_P1, (6.0750, 45.8680), (6.1000, 45.8600), (6.1200, 45.8620), _P3, _P2],
    ),
    ("cran-gevrier", "Cran-Gevrier", "74093", [_P1, _P2, _P8, _P9]),
    ("meythet", "Meythet", "74182", [_P9, _P8, _P7, _P10, _P11]),
    (
        "pringy",
        "Pringy",
        "74217",
        [_P11, _P10, _P12, (6.1500, 45.9620), (6.1150, 45.9660), (6.0880, 45.9500)],
    ),
]

# The northern basin of Lac d'Annecy, cut off at latitude 45.86.
LAKE: list[Coord] = [
    (6.1390, 45.8975),  # south bank of the Thiou's outlet (port)
    (6.1392, 45.8995),  # mouth of the Vassé canal, Pont des Amours
    (6.1405, 45.9010),  # shore of the Pâquier
    (6.1420, 45.9028),
    (6.1445, 45.9040),  # Impérial Palace
    (6.1490, 45.9062),  # Plage d'Albigny
    (6.1540, 45.9060),
    (6.1600, 45.9010),
    (6.1660, 45.8950),
    (6.1720, 45.8880),  # towards Veyrier-du-Lac
    (6.1800, 45.8700),
    (6.1820, 45.8600),
    (6.1500, 45.8600),
    (6.1430, 45.8750),
    (6.1395, 45.8850),
    (6.1375, 45.8930),  # Marquisats
    (6.1380, 45.8960),
]

# Canals as centre lines with a width in metres (published as thin polygons).
CANALS: list[tuple[str, str, float, list[Coord]]] = [
    (
        "thiou",
        "Le Thiou",
        12.0,
        [
            (6.1392, 45.8974),
            (6.1360, 45.8976),
            (6.1330, 45.8978),
            (6.1300, 45.8983),
            (6.1281, 45.8986),
            (6.1258, 45.8990),
            (6.1238, 45.8996),
            (6.1210, 45.9002),
            (6.1160, 45.9012),
            (6.1100, 45.9028),
            (6.1040, 45.9045),
            (6.0990, 45.9065),
            (6.0950, 45.9090),
        ],
    ),
    (
        "vasse",
        "Canal du Vassé",
        8.0,
        [(6.1394, 45.8994), (6.1360, 45.8993), (6.1330, 45.8992), (6.1305, 45.8990)],
    ),
]

# Old town: the Vieille Ville around the Thiou and the Palais de l'Isle.
OLD_TOWN: list[Coord] = [
    (6.1232, 45.8993),
    (6.1248, 45.9003),
    (6.1275, 45.9002),
    (6.1300, 45.8995),
    (6.1310, 45.8987),
    (6.1300, 45.8972),
    (6.1268, 45.8962),
    (6.1240, 45.8972),
]

# (slug, name, ring)
PEDESTRIAN: list[tuple[str, str, list[Coord]]] = [
    ("vieille-ville", "Vieille Ville (rues piétonnes)", OLD_TOWN),
    (
        "rue-royale",
        "Rue Royale – Rue du Pâquier",
        [(6.1265, 45.9004), (6.1332, 45.9003), (6.1334, 45.9009), (6.1268, 45.9011)],
    ),
]

NO_PARKING: list[tuple[str, str, list[Coord]]] = [
    (
        "paquier",
        "Le Pâquier (pelouse)",
        [(6.1335, 45.8998), (6.1388, 45.8998), (6.1410, 45.9022), (6.1345, 45.9026)],
    ),
    (
        "vieille-ville-coeur",
        "Vieille Ville – quais du Thiou",
        [(6.1262, 45.8981), (6.1300, 45.8981), (6.1302, 45.8992), (6.1262, 45.8994)],
    ),
    (
        "pont-des-amours",
        "Pont des Amours",
        [(6.1374, 45.8990), (6.1382, 45.8990), (6.1382, 45.8998), (6.1374, 45.8998)],
    ),
    (
        "jardins-europe",
        "Jardins de l'Europe",
        [(6.1322, 45.8982), (6.1386, 45.8980), (6.1387, 45.8989), (6.1330, 45.8989)],
    ),
    (
        "plage-albigny",
        "Plage d'Albigny (pelouse)",
        [(6.1470, 45.9068), (6.1530, 45.9066), (6.1530, 45.9085), (6.1470, 45.9087)],
    ),
]

# Drop zones: (slug, name, lon, lat, capacity, district slug). Published as
# 24 m x 8 m rectangles centred on the point.
MANDATORY_PARKING: list[tuple[str, str, float, float, int, str]] = [
    ("gare-place", "Gare – Place de la Gare", 6.1205, 45.9022, 40, "annecy"),
    ("sommeiller", "Rue Sommeiller", 6.1258, 45.9022, 20, "annecy"),
    ("bonlieu", "Bonlieu – Hôtel de Ville", 6.1318, 45.9018, 30, "annecy"),
    ("paquier-albigny", "Pâquier – Avenue d'Albigny", 6.1375, 45.9035, 25, "annecy"),
    ("courier", "Courier", 6.1265, 45.9050, 20, "annecy"),
    ("sainte-claire", "Faubourg Sainte-Claire", 6.1222, 45.8978, 15, "annecy"),
    ("marquisats", "Marquisats – Quai de la Tournette", 6.1350, 45.8935, 20, "annecy"),
    ("imperial", "Impérial – Plage d'Albigny", 6.1440, 45.9058, 20, "annecy-le-vieux"),
    ("faure", "Annecy-le-Vieux – Place Gabriel Fauré", 6.1455, 45.9160, 15, "annecy-le-vieux"),
    ("campus", "Campus d'Annecy-le-Vieux", 6.1560, 45.9215, 20, "annecy-le-vieux"),
    ("champ-fleuri", "Seynod – Champ Fleuri", 6.1080, 45.8840, 15, "seynod"),
    ("cran-mairie", "Cran-Gevrier – Mairie", 6.1010, 45.9025, 15, "cran-gevrier"),
    ("meythet-mairie", "Meythet – Mairie", 6.0920, 45.9205, 12, "meythet"),
    ("pringy-gare", "Pringy – Gare", 6.1240, 45.9458, 12, "pringy"),
]
DROP_ZONE_SIZE_M = (24.0, 8.0)

# "Tram tracks": (slug, name, line_kind, line)
TRAM_TRACKS: list[tuple[str, str, str, list[Coord]]] = [
    (
        "voie-ferree",
        "Voie ferrée Aix-les-Bains – Annecy – La Roche-sur-Foron",
        "railway",
        [
            (6.0800, 45.8890),
            (6.0980, 45.8930),
            (6.1110, 45.8975),
            (6.1195, 45.9000),
            (6.1232, 45.9022),
            (6.1255, 45.9060),
            (6.1275, 45.9130),
            (6.1280, 45.9250),
            (6.1270, 45.9360),
            (6.1262, 45.9455),
            (6.1258, 45.9600),
        ],
    ),
    (
        "axe-gare-annecy-le-vieux",
        "Axe bus Gare – Bonlieu – Annecy-le-Vieux",
        "bus_corridor",
        [
            (6.1235, 45.9040),
            (6.1290, 45.9035),
            (6.1320, 45.9040),
            (6.1360, 45.9050),
            (6.1400, 45.9065),
            (6.1450, 45.9100),
            (6.1500, 45.9140),
            (6.1540, 45.9180),
        ],
    ),
    (
        "avenue-de-geneve",
        "Axe bus Avenue de Genève (Meythet)",
        "bus_corridor",
        [
            (6.1205, 45.9040),
            (6.1150, 45.9070),
            (6.1080, 45.9110),
            (6.1000, 45.9150),
            (6.0930, 45.9185),
        ],
    ),
    (
        "avenue-de-chambery",
        "Axe bus Avenue de Chambéry (Seynod)",
        "bus_corridor",
        [
            (6.1195, 45.8990),
            (6.1170, 45.8930),
            (6.1140, 45.8870),
            (6.1100, 45.8810),
            (6.1060, 45.8760),
        ],
    ),
]

# Points of interest (informational, for maps and for tests).
LANDMARKS: list[tuple[str, str, float, float]] = [
    ("gare", "Gare d'Annecy", 6.1220, 45.9020),
    ("palais-de-l-isle", "Palais de l'Isle", 6.1281, 45.8986),
    ("chateau", "Château d'Annecy", 6.1262, 45.8972),
    ("pont-des-amours", "Pont des Amours", 6.1378, 45.8994),
    ("paquier", "Le Pâquier", 6.1370, 45.9012),
    ("bonlieu", "Bonlieu", 6.1300, 45.9020),
    ("gare-pringy", "Gare de Pringy", 6.1262, 45.9455),
]

# Demand hotspots: (slug, lon, lat, radius_m, weights by period). Periods are
# local time: morning 06-10, midday 10-16, evening 16-21, night 21-06.
HOTSPOTS: list[tuple[str, float, float, float, tuple[float, float, float, float]]] = [
    ("gare", 6.1218, 45.9018, 150.0, (5.0, 2.0, 3.0, 1.0)),
    ("vieille-ville", 6.1265, 45.8990, 170.0, (1.0, 4.0, 4.0, 3.0)),
    ("bonlieu", 6.1300, 45.9022, 200.0, (3.0, 3.0, 3.0, 2.0)),
    ("lac-paquier", 6.1365, 45.9030, 180.0, (0.5, 3.0, 5.0, 2.0)),
    ("lac-albigny", 6.1465, 45.9062, 220.0, (0.3, 2.0, 4.0, 1.0)),
    ("lac-marquisats", 6.1345, 45.8935, 180.0, (0.3, 2.0, 3.0, 0.5)),
    ("campus", 6.1560, 45.9210, 300.0, (3.0, 1.5, 0.5, 0.2)),
    ("courier", 6.1265, 45.9055, 200.0, (2.0, 2.0, 1.0, 0.3)),
    ("seynod", 6.1000, 45.8850, 600.0, (1.0, 1.0, 2.0, 1.0)),
    ("cran-gevrier", 6.1010, 45.9030, 500.0, (1.0, 1.0, 2.0, 1.0)),
    ("meythet", 6.0930, 45.9200, 500.0, (0.8, 0.8, 1.5, 0.8)),
    ("pringy", 6.1230, 45.9450, 600.0, (0.5, 0.5, 1.2, 0.5)),
    ("annecy-le-vieux", 6.1650, 45.9150, 600.0, (1.0, 1.0, 2.0, 1.0)),
    ("novel-romains", 6.1150, 45.9120, 500.0, (1.0, 1.0, 2.0, 1.0)),
]
