"""`python -m scanfleet.worker`: one arq worker process, with its own metrics port."""

from __future__ import annotations

import logging
import os

from scanfleet import tracing
from scanfleet.config import get_settings
from scanfleet.liveness import LoopWatch, serve_metrics_or_move
from scanfleet.logs import configure_logging
from scanfleet.worker.app import build_worker


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    tracing.configure(settings.otel_endpoint, "scanfleet-worker")
    index = int(os.environ.get("SCANFLEET_WORKER_INDEX", "0"))
    watch = LoopWatch(settings.loop_stall_seconds)
    if settings.worker_metrics_port:
        serve_metrics_or_move(settings.worker_metrics_port + index, settings.metrics_host, watch)
    logging.getLogger(__name__).info("worker %s starting", index)
    build_worker(settings, loop_watch=watch).run()


if __name__ == "__main__":
    main()
