"""Open data: privacy policies, releases with disclosure control, exports, DCAT-AP catalogue, explore API."""
