"""`python -m scanfleet.api`: serve the API with uvicorn."""

from __future__ import annotations

import uvicorn

from scanfleet import tracing
from scanfleet.api import server
from scanfleet.api.app import create_app
from scanfleet.config import get_settings
from scanfleet.logs import configure_logging


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    tracing.configure(settings.otel_endpoint, "scanfleet-api")
    uvicorn.Server(server.config(create_app(settings), settings)).run()


if __name__ == "__main__":
    main()
