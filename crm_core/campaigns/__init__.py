"""Campaigns: model and lifecycle, message templates, the simulated vendor, delivery and the communication log."""
