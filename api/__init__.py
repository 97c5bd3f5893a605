"""The HTTP API: thin routes over the scanfleet core."""
