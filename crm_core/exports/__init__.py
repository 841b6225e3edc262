"""The export centre: datasets, columns and filters from one registry, streamed to CSV, Parquet or XLSX."""
