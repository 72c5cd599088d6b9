"""How every figure is counted, in English and French, stated in every export.

The texts take the settings that shape the method (sample interval, freshness,
noise, windows) so that what is written is what was computed.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGS = ("fr", "en")


@dataclass(frozen=True, slots=True)
class MethodParams:
    step_min: float = 5
    max_age_min: float = 10
    idle_time: str = "03:30"
    noise_m: float = 15
    reappear_h: float = 2
    timezone: str = "Europe/Paris"
    zone_kinds: tuple[str, ...] = ("district",)


_EN = {
    "general": (
        "Figures come from the operators' public GBFS feeds as recorded by the city's own "
        "service. Periods are whole local days in {timezone}; times are local with their "
        "UTC offset. Each figure states its coverage: the share of the expected "
        "observations that were actually made."
    ),
    "fleet": (
        "Deployed fleet: vehicles listed in the operator's vehicle feed as available, "
        "reserved or disabled (a vehicle in a rental is not listed), sampled every "
        "{step_min:g} minutes around the clock on a grid aligned on the hour. A vehicle "
        "counts at time T when one of its recorded stays covers T. Figures use observed "
        "samples only: a sample is observed when the vehicle feed was fetched successfully "
        "within the {max_age_min:g} minutes before it and was not in outage (during an "
        "outage the last known state is kept but not counted). Average: mean of the observed "
        "samples; maximum: the largest; 95th percentile: nearest rank (the smallest value "
        "with at least 95 % of the observed samples at or below it); hourly-snapshot "
        "average: mean of the samples on the hour only (the 'hourly snapshot, sum / 24' "
        "method). A vehicle is in a zone when its published position lies inside it "
        "(no buffer); vehicles without a position count only in the city-wide figures."
    ),
    "idle": (
        "Idle time: every day at {idle_time} local time (CROW indicator), the time each "
        "deployed vehicle has been parked where it is. An ID rotation in place or a change "
        "of state in place (reservation, breakdown, repair) does not restart it; a move "
        "beyond the GPS noise ({noise_m:g} m) does. Shares of vehicles parked 1, 3, 7 and "
        "14 days or more (buckets [lo, hi) in days) are pooled over the observed daily "
        "samples; the median is the "
        "median of the daily medians (nearest rank). A vehicle already there at the first "
        "observation, or first seen after a feed outage, has an unknown arrival: its time "
        "parked is a lower bound (counted as 'lower bounds')."
    ),
    "use": (
        "Use: departures inferred from the feeds (GBFS publishes no trips). A departure is "
        "a stay of an available or reserved vehicle that ended because the vehicle moved "
        "beyond the GPS noise or vanished from the feed. For operators that keep vehicle "
        "IDs (at least half of the vanished IDs come back within {reappear_h:g} h) a "
        "vanishing counts only when the same ID reappears elsewhere within {reappear_h:g} h; "
        "for operators that rotate IDs after trips, every vanishing not linked to an ID "
        "rotation in place counts. Not counted: disabled vehicles (collected for repair) "
        "and vanishings that overlap a feed outage. Departures per vehicle per day = "
        "departures / vehicle-days (sum of the daily average deployed fleets). Known error: "
        "trip counts inferred from GBFS carry about ±20 % error (collections, rebalancing "
        "and GPS jumps count as trips; trips shorter than a polling interval are missed); "
        "one study reports 77 % recall and 80 % precision."
    ),
    "violations": (
        "Violations: episodes recorded by the rules engine, counted on the local day they "
        "were first detected (opened) and on the day they were closed. 'Uncertain' means "
        "within the GPS tolerance of a zone border: shown, never billed. Zone: the zone "
        "named by the rule; area: the statistics zone containing the position. Mean time "
        "to close: from the start of the episode to its closing."
    ),
    "notices": (
        "Notices: notices of breach and formal notices (distinct acts, counted together), "
        "counted on the local day of issue. "
        "Response time: from sending (or issue) to the operator's acknowledgement or "
        "dispute. Overdue share: notices whose outcome after the deadline was overdue or "
        "partial, among those with an outcome."
    ),
    "feeds": (
        "Feed availability: every fetch of every GBFS file of the operator, on the day it "
        "started; success = read and applied, unchanged or not modified. Outage time: "
        "periods recorded as outages (HTTP or network errors, unreadable files, stale data, "
        "emptied or collapsed vehicle lists), clipped to the period. Data quality: records "
        "dropped as invalid by the parser, and findings of the validation against the "
        "official GBFS JSON schema."
    ),
    "declared": (
        "Declared fleet: as entered or uploaded for a period (for one vehicle type or "
        "all of them). "
        "Observed: average and maximum deployed fleet over the observed samples of the "
        "declared period within the report period; ratio = observed average / declared."
    ),
    "zones": (
        "Parking density: average number of deployed vehicles (observed samples) whose "
        "position lies inside each zone, divided by the zone's area in km² (WGS 84 "
        "ellipsoid)."
    ),
}

_FR = {
    "general": (
        "Les chiffres proviennent des flux GBFS publics des opérateurs, enregistrés par le "
        "service de la ville. Les périodes sont des journées locales entières ({timezone}) ; "
        "les heures sont locales avec leur décalage UTC. Chaque chiffre indique sa "
        "couverture : la part des observations attendues effectivement réalisées."
    ),
    "fleet": (
        "Flotte déployée : véhicules publiés dans le flux de l'opérateur comme disponibles, "
        "réservés ou hors service (un véhicule en location n'est pas publié), échantillonnés "
        "toutes les {step_min:g} minutes, jour et nuit, sur une grille alignée sur l'heure. "
        "Un véhicule compte à l'instant T quand l'un de ses stationnements enregistrés "
        "couvre T. Seuls les échantillons observés comptent : le flux a été lu avec succès "
        "dans les {max_age_min:g} minutes précédentes et n'était pas en panne (pendant une "
        "panne, le dernier état connu est conservé mais pas compté). Moyenne : moyenne des "
        "échantillons observés ; maximum : le plus grand ; 95e centile : rang le plus proche "
        "(la plus petite valeur telle qu'au moins 95 % des échantillons lui sont inférieurs "
        "ou égaux) ; moyenne des relevés horaires : moyenne des seuls échantillons à l'heure "
        "pile (méthode « relevé horaire, somme / 24 »). Un véhicule est dans une zone quand "
        "sa position publiée s'y trouve (sans tampon) ; sans position, il ne compte que dans "
        "les chiffres de toute la ville."
    ),
    "idle": (
        "Immobilisation : chaque jour à {idle_time} heure locale (indicateur CROW), la durée "
        "depuis laquelle chaque véhicule déployé est stationné à sa place. Une rotation "
        "d'identifiant sur place ou un changement d'état sur place (réservation, panne, "
        "réparation) ne la remet pas à zéro ; un déplacement au-delà du bruit GPS "
        "({noise_m:g} m), si. Les parts de véhicules stationnés depuis 1, 3, 7 et 14 jours "
        "ou plus (tranches [min, max[ en jours) sont cumulées sur les relevés quotidiens "
        "observés ; la médiane est la "
        "médiane des médianes quotidiennes (rang le plus proche). Un véhicule déjà présent "
        "à la première observation, ou vu pour la première fois après une panne du flux, a "
        "une arrivée inconnue : sa durée est un minimum (compté en « minorants »)."
    ),
    "use": (
        "Usage : départs déduits des flux (GBFS ne publie pas les trajets). Un départ est "
        "un stationnement d'un véhicule disponible ou réservé qui se termine parce que le "
        "véhicule s'est déplacé au-delà du bruit GPS ou a disparu du flux. Pour les "
        "opérateurs qui gardent les identifiants (au moins la moitié des identifiants "
        "disparus reviennent en moins de {reappear_h:g} h), une disparition ne compte que si "
        "le même identifiant réapparaît ailleurs en moins de {reappear_h:g} h ; pour ceux "
        "qui changent d'identifiant après chaque trajet, toute disparition non reliée à une "
        "rotation sur place compte. Non comptés : véhicules hors service (ramassés pour "
        "réparation) et disparitions pendant une panne du flux. Départs par véhicule et par "
        "jour = départs / véhicules-jours (somme des flottes moyennes quotidiennes). Erreur "
        "connue : les trajets déduits de GBFS ont environ ±20 % d'erreur (ramassages, "
        "rééquilibrages et sauts GPS comptent comme trajets ; les trajets plus courts qu'un "
        "intervalle de lecture sont manqués) ; une étude mesure 77 % de rappel et 80 % de "
        "précision."
    ),
    "violations": (
        "Infractions : épisodes enregistrés par le moteur de règles, comptés le jour local "
        "de leur première détection (ouverture) et le jour de leur clôture. « Incertaine » : "
        "dans la tolérance GPS d'une limite de zone, affichée mais jamais facturée. Zone : "
        "celle que nomme la règle ; secteur : la zone statistique contenant la position. "
        "Durée moyenne : du début de l'épisode à sa clôture."
    ),
    "notices": (
        "Avis aux opérateurs : avis de manquement et mises en demeure (actes distincts, "
        "comptés ensemble ici), comptés le jour local de leur émission. Délai de réponse : "
        "de l'envoi (ou de l'émission) à "
        "l'accusé de réception ou à la contestation de l'opérateur. Part hors délai : avis "
        "dont l'issue après l'échéance est « hors délai » ou « partielle », parmi "
        "ceux qui ont une issue."
    ),
    "feeds": (
        "Disponibilité des flux : chaque lecture de chaque fichier GBFS de l'opérateur, le "
        "jour où elle a commencé ; succès = lu et appliqué, inchangé ou non modifié. Durée "
        "de panne : périodes enregistrées comme pannes (erreurs HTTP ou réseau, fichiers "
        "illisibles, données périmées, listes vidées ou effondrées), limitées à la période. "
        "Qualité des données : enregistrements rejetés comme invalides, et constats de la "
        "validation par le schéma JSON officiel de GBFS."
    ),
    "declared": (
        "Flotte déclarée : telle que saisie ou importée pour une période (pour un type de "
        "véhicule ou pour tous). "
        "Observée : flotte déployée moyenne et maximale sur les échantillons observés de la "
        "période déclarée comprise dans la période du rapport ; ratio = moyenne observée / "
        "déclarée."
    ),
    "zones": (
        "Densité de stationnement : nombre moyen de véhicules déployés (échantillons "
        "observés) dont la position est dans chaque zone, divisé par la surface de la zone "
        "en km² (ellipsoïde WGS 84)."
    ),
}

TEXTS = {"en": _EN, "fr": _FR}
SECTIONS = tuple(_EN)


def method(section: str, lang: str, params: MethodParams) -> str:
    texts = TEXTS.get(lang, _EN)
    return texts[section].format(
        step_min=params.step_min,
        max_age_min=params.max_age_min,
        idle_time=params.idle_time,
        noise_m=params.noise_m,
        reappear_h=params.reappear_h,
        timezone=params.timezone,
    )
