"""Signed webhooks: what an event says, how it is signed, and when a failed delivery is tried again."""
