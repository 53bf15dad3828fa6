"""Analysis engine: source -> syntax tree -> findings, for one file at a time."""
