"""Recurring jobs: when a schedule fires (cron in a time zone, or a fixed interval, with jitter)."""
