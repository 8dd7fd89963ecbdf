"""Pure validation: the Table Schema engine, the row and asset rules, input bounds (no database session)."""
