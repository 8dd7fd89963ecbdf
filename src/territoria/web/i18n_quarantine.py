"""French and English texts of the quarantine and report pages."""

FR: dict[str, str] = {}
EN: dict[str, str] = {}
