"""The capacity gate: per-organisation limits, fair dispatch into arq, leases. State lives in Redis."""
