"""Talking to other systems: API keys, request rate limits, signed receipts and outgoing webhooks."""
