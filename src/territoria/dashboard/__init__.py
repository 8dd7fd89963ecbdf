"""The authority's dashboard: home, map, dataset, KPI and commune pages, drawing on every stage."""
