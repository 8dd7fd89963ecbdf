"""French and English texts of the quality page."""

FR: dict[str, str] = {}
EN: dict[str, str] = {}
