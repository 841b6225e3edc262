"""CSV import: sniffing, column mapping, validation with rejects, set-based upsert, history and undo."""
