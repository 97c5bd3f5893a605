"""`python -m scanfleet.worker`: one arq worker process, with its own metrics port."""

from __future__ import annotations

import logging
import os

from scanfleet import tracing
from scanfleet.config import get_settings
from scanfleet.liveness import LoopWatch, serve_metrics_or_move
from scanfleet.logs import configure_logging
from scanfleet.stop_deadline import exit_by_deadline
from scanfleet.worker.app import build_worker

# Past the grace period, time to hand back what was cancelled and close connections.
EXIT_MARGIN_SECONDS = 5.0


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    tracing.configure(settings.otel_endpoint, "scanfleet-worker")
    index = int(os.environ.get("SCANFLEET_WORKER_INDEX", "0"))
    watch = LoopWatch(settings.loop_stall_seconds)
    if settings.worker_metrics_port:
        serve_metrics_or_move(settings.worker_metrics_port + index, settings.metrics_host, watch)
    logging.getLogger(__name__).info("worker %s starting", index)
    worker = build_worker(settings, loop_watch=watch, freeze_heap=True)  # its signal handlers are on the loop from here
    # A job that blocks the loop must not keep the process (and its database sessions) past the grace period.
    exit_by_deadline(settings.worker_grace_seconds + EXIT_MARGIN_SECONDS)
    worker.run()


if __name__ == "__main__":
    main()
