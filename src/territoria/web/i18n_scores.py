"""French and English texts of the quality page."""

FR: dict[str, str] = {
    "nav.quality": "Qualité",
    "quality.title": "Qualité des données",
    "quality.intro": (
        "Ce que chaque producteur envoie, jour par jour (UTC) : complétude, validité, fraîcheur et "
        "cohérence, avec la tendance sur 30 jours et les points d'attention."
    ),
    "quality.weights": (
        "Note globale : moyenne pondérée des composantes connues — complétude {completeness} %, "
        "validité {validity} %, fraîcheur {freshness} %, cohérence {consistency} %."
    ),
    "quality.table": "Producteurs et jeux de données",
    "quality.caption": "Dernières notes connues et tendance de la note globale sur {days} jours",
    "quality.col.name": "Producteur / jeu de données",
    "quality.overall": "Note globale",
    "quality.completeness": "Complétude",
    "quality.validity": "Validité",
    "quality.freshness": "Fraîcheur",
    "quality.consistency": "Cohérence",
    "quality.col.trend": "Tendance ({days} jours)",
    "quality.col.rejected": "Rejets ({days} jours)",
    "quality.col.delay": "Retard",
    "quality.col.links": "Liens",
    "quality.operator_datasets": "({n} jeu(x) de données)",
    "quality.day": "au {day}",
    "quality.rejected_of": "{rejected} sur {received}",
    "quality.quarantine": "Quarantaine ({n})",
    "quality.report": "Rapport",
    "quality.band.good": "bon",
    "quality.band.fair": "moyen",
    "quality.band.poor": "faible",
    "quality.band.none": "non mesuré",
    "quality.trend_desc": "Note globale sur {days} jours ({n} jours mesurés) : de {first} % à {last} %",
    "quality.trend_none": "Pas d'historique",
    "quality.delay.min": "{n} min",
    "quality.delay.h": "{n} h",
    "quality.delay.d": "{n} j",
    "quality.offenders": "Points d'attention",
    "quality.lowest": "Notes globales les plus basses",
    "quality.rejections": "Le plus de lignes rejetées ({days} jours)",
    "quality.stalest": "Sources les plus en retard",
    "quality.late_by": "dernière donnée il y a {delay}",
    "quality.nothing": "Rien à signaler.",
    "quality.empty": "Aucun jeu de données visible pour l'instant.",
    "quality.method": "Mode de calcul",
    "quality.help.completeness": (
        "Points reçus ÷ points attendus d'après l'intervalle de transmission de chaque série active "
        "(enregistrements : champs obligatoires remplis)."
    ),
    "quality.help.validity": "Lignes acceptées ÷ lignes reçues dans les lots du jour.",
    "quality.help.freshness": (
        "Retard de la dernière donnée à la fin du jour : 100 % dans un intervalle, 0 % à partir de "
        "24 intervalles."
    ),
    "quality.help.consistency": "Part des points du jour sans avertissement (pics, valeurs figées, …).",
    "quality.bands": "Couleurs",
    "quality.bands_help": "Bon à partir de 90 %, moyen à partir de 70 %, faible en dessous.",
}

EN: dict[str, str] = {
    "nav.quality": "Quality",
    "quality.title": "Data quality",
    "quality.intro": (
        "What each operator sends, day by day (UTC): completeness, validity, freshness and consistency, "
        "with the 30-day trend and what needs attention."
    ),
    "quality.weights": (
        "Overall score: weighted mean of the known components — completeness {completeness} %, "
        "validity {validity} %, freshness {freshness} %, consistency {consistency} %."
    ),
    "quality.table": "Operators and datasets",
    "quality.caption": "Latest known scores and trend of the overall score over {days} days",
    "quality.col.name": "Operator / dataset",
    "quality.overall": "Overall",
    "quality.completeness": "Completeness",
    "quality.validity": "Validity",
    "quality.freshness": "Freshness",
    "quality.consistency": "Consistency",
    "quality.col.trend": "Trend ({days} days)",
    "quality.col.rejected": "Rejected ({days} days)",
    "quality.col.delay": "Delay",
    "quality.col.links": "Links",
    "quality.operator_datasets": "({n} dataset(s))",
    "quality.day": "on {day}",
    "quality.rejected_of": "{rejected} of {received}",
    "quality.quarantine": "Quarantine ({n})",
    "quality.report": "Report",
    "quality.band.good": "good",
    "quality.band.fair": "fair",
    "quality.band.poor": "poor",
    "quality.band.none": "not measured",
    "quality.trend_desc": "Overall score over {days} days ({n} days measured): from {first} % to {last} %",
    "quality.trend_none": "No history",
    "quality.delay.min": "{n} min",
    "quality.delay.h": "{n} h",
    "quality.delay.d": "{n} d",
    "quality.offenders": "Needs attention",
    "quality.lowest": "Lowest overall scores",
    "quality.rejections": "Most rejected rows ({days} days)",
    "quality.stalest": "Stalest sources",
    "quality.late_by": "latest data {delay} ago",
    "quality.nothing": "Nothing to report.",
    "quality.empty": "No visible dataset yet.",
    "quality.method": "How scores are computed",
    "quality.help.completeness": (
        "Points received ÷ points expected from each active series' reporting interval "
        "(records: required fields filled)."
    ),
    "quality.help.validity": "Rows accepted ÷ rows received in the day's batches.",
    "quality.help.freshness": (
        "Delay of the latest data at the end of the day: 100 % within one interval, 0 % from 24 intervals on."
    ),
    "quality.help.consistency": "Share of the day's points without a warning (spikes, stuck values, …).",
    "quality.bands": "Colours",
    "quality.bands_help": "Good from 90 %, fair from 70 %, poor below.",
}
