"""Segments: rule model, field catalog, operators, compiler to SQL, preview, explain, saved segments."""
