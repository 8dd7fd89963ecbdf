"""French and English texts of the open-data section of a dataset page (policy, releases, publish)."""

FR: dict[str, str] = {
    "publish.title": "Données ouvertes",
    "publish.none": "Ce jeu de données n'est pas publié en données ouvertes.",
    "publish.no_policy": (
        "Aucune politique de confidentialité : définissez-en une (territoria policy set {slug} FICHIER, "
        "ou l'API) avant de publier."
    ),
    "publish.policy": "Politique de confidentialité : version {version}",
    "publish.latest": (
        "Dernière publication : version {version} du {date}, {rows} lignes, {secret} cellules secrètes"
    ),
    "publish.failed": "La publication version {version} a échoué à ses contrôles : rien n'a été publié.",
    "publish.see": "Voir sur le portail",
    "publish.button": "Publier une nouvelle version",
    "publish.help": (
        "Construit une publication versionnée et immuable selon la politique, contrôle chaque cellule "
        "(k, dominance, secret secondaire) et la sert si tout est conforme."
    ),
    "publish.done": "Version {version} publiée.",
    "publish.error.invalid": (
        "La publication est impossible : la politique ne tient plus sur ces données, ou aucune période "
        "complète n'est assez ancienne. Lancez territoria publish {slug} pour le détail."
    ),
    "publish.error.failed": (
        "La version {version} a échoué aux contrôles de confidentialité : rien n'est publié."
    ),
    "publish.error.forbidden": (
        "Seule l'organisation propriétaire (gestionnaire ou administrateur) peut publier."
    ),
    "publish.error.no_policy": "Définissez d'abord une politique de confidentialité.",
}

EN: dict[str, str] = {
    "publish.title": "Open data",
    "publish.none": "This dataset is not published as open data.",
    "publish.no_policy": (
        "No privacy policy yet: set one (territoria policy set {slug} FILE, or the API) before publishing."
    ),
    "publish.policy": "Privacy policy: version {version}",
    "publish.latest": "Latest release: version {version} of {date}, {rows} rows, {secret} secret cells",
    "publish.failed": "Release version {version} failed its checks: nothing was published.",
    "publish.see": "See it on the portal",
    "publish.button": "Publish a new version",
    "publish.help": (
        "Builds a versioned, immutable release under the policy, checks every cell (k, dominance, "
        "secondary suppression) and serves it if everything holds."
    ),
    "publish.done": "Version {version} published.",
    "publish.error.invalid": (
        "Cannot publish: the policy no longer holds on this data, or no complete period is old enough "
        "yet. Run territoria publish {slug} for the details."
    ),
    "publish.error.failed": "Version {version} failed its privacy checks: nothing is published.",
    "publish.error.forbidden": "Only the owner organisation (steward or admin) may publish.",
    "publish.error.no_policy": "Set a privacy policy first.",
}
