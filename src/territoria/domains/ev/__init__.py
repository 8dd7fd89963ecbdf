"""EV charging observatory: IRVE static and dynamic data, consolidation, indicators, coverage."""
