"""HTTP, page and CLI faces of the registers below the HTTP toolkit: territory, catalog, people, trust."""
