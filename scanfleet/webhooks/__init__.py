"""Signed webhooks: what an event says, and how it is signed."""
