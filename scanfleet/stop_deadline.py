"""After SIGTERM a process is gone by a deadline, however stuck its event loop.

asyncio runs signal handlers on the loop, so a loop held by a blocking call (a CPU-bound step, a synchronous
sleep in a job) never learns of SIGTERM: the process outlives every grace period, and an orphan of a killed
supervisor would never leave. The C-level signal handler still writes the signal's number to the loop's wakeup
fd, from whatever thread the kernel picks. Here that fd is a pipe read by a thread of its own, which passes each
byte on to the loop and, from the first stop signal, gives the process until the deadline; past it, the thread
ends the process at once. Jobs it still held come back through their leases, as after a crash.
"""

from __future__ import annotations

import contextlib
import faulthandler
import json
import os
import select
import signal
import sys
import threading
import time
from datetime import UTC, datetime

from scanfleet import logs

EXIT_STATUS = 70  # EX_SOFTWARE: stopped by the deadline, not by its own shutdown
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_by_deadline(seconds: float) -> None:
    """From a stop signal on, the process has `seconds` to exit. Call it in the main thread once the loop has
    added its signal handlers (each add_signal_handler points the wakeup fd back at the loop)."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)  # the signal handler must never block
    loop_fd = signal.set_wakeup_fd(write_end)
    if loop_fd < 0:
        raise RuntimeError("no event loop has signal handlers to relay to")
    threading.Thread(target=_relay, args=(read_end, loop_fd, seconds), name="stop-deadline", daemon=True).start()


def _relay(read_end: int, loop_fd: int, seconds: float) -> None:
    deadline: float | None = None
    while True:
        wait = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        if not select.select([read_end], [], [], wait)[0]:
            logs.write_pending(timeout=0.5)  # the lines of the turn it is stuck in: what it was doing
            _say("critical", f"still running {seconds}s after the stop signal (its event loop is stuck): exiting now")
            faulthandler.dump_traceback(all_threads=True)  # where it was stuck
            os._exit(EXIT_STATUS)
        received = os.read(read_end, 64)
        with contextlib.suppress(OSError):  # the loop's end is full, or closed: it has all the news it can take
            os.write(loop_fd, received)
        if deadline is None and any(number in STOP_SIGNALS for number in received):
            deadline = time.monotonic() + seconds
            _say("info", f"stop signal received: exiting within {seconds}s at the latest")


def _say(level: str, message: str) -> None:
    """A log line written straight to stderr: the stuck main thread may hold one of logging's locks."""
    line = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": level, "logger": __name__,
            "msg": message}  # fmt: skip
    os.write(sys.stderr.fileno(), (json.dumps(line) + "\n").encode())
