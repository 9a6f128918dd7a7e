"""Use cases, grouped by aggregate: one package each (DESIGN section 8)."""
