"""EV charging observatory: IRVE static and dynamic data, consolidation, indicators, coverage, pages.

It plugs into the platform only through its contract, `territoria.domains.ev.plugin.DOMAIN`.
"""
