"""Streamlit-only glue shared by the pages: login guard, cached store, widgets."""
