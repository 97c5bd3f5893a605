"""`python -m scanfleet.api`: serve the API with uvicorn."""

from __future__ import annotations

import uvicorn

from scanfleet import tracing
from scanfleet.api.app import create_app
from scanfleet.config import get_settings
from scanfleet.logs import configure_logging


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    tracing.configure(settings.otel_endpoint, "scanfleet-api")
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.api_grace_seconds),  # stop accepting, finish what's in flight
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
