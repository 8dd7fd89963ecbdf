"""Steering the territory: KPIs, statistics, plan targets and operator contracts."""
