"""HTTP toolkit for every API and page module: dependencies, problem+json, bounds, security headers."""
