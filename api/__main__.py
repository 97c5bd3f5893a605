"""`python -m scanfleet.api`: serve the API with uvicorn, in `SCANFLEET_API_WORKERS` processes behind one port."""

from __future__ import annotations

import multiprocessing
import os

from fastapi import FastAPI

from scanfleet import heap, tracing
from scanfleet.api import server
from scanfleet.api.app import create_app
from scanfleet.config import get_settings
from scanfleet.embedded import die_with_parent
from scanfleet.logs import configure_logging


def app() -> FastAPI:
    """The app as each worker process makes it: its logs and traces set up first (a worker starts afresh)."""
    settings = get_settings()
    supervisor = multiprocessing.parent_process()
    if supervisor is not None:  # a worker uvicorn's supervisor spawned
        die_with_parent()  # a supervisor killed outright (SIGKILL) takes its workers with it
        if os.getppid() != supervisor.pid:
            raise SystemExit("the API's supervisor stopped while this worker started")  # before the line above
    configure_logging(settings.log_level)
    tracing.configure(settings.otel_endpoint, "scanfleet-api")
    app = create_app(settings)
    heap.freeze()
    return app


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)  # the supervisor's own lines
    server.run("scanfleet.api.__main__:app", settings)


if __name__ == "__main__":
    main()
