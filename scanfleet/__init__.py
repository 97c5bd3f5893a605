"""scanfleet core: shared by the api, worker and scheduler processes."""

__version__ = "0.1.0"
