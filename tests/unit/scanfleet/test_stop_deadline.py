"""exit_by_deadline in a process of its own: a loop that turns still gets its signal handlers; a stuck one is
ended at the deadline."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from scanfleet.stop_deadline import EXIT_STATUS

DEADLINE = 1.0
PROGRAM = """
import asyncio, logging, signal, sys, time
from scanfleet.logs import configure_logging
from scanfleet.stop_deadline import exit_by_deadline

configure_logging("INFO")

async def main(stuck: bool) -> None:
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    exit_by_deadline({deadline})
    print("ready", flush=True)
    if stuck:
        logging.getLogger("job").info("starting the step that gets stuck")  # its write is due next turn
        time.sleep(60)  # holds the loop: its SIGTERM handler cannot run
    await stopped.wait()
    print("handled", flush=True)

asyncio.run(main(sys.argv[1] == "stuck"))
"""


def _stopped(mode: str) -> tuple[int, float, str]:
    process = subprocess.Popen(
        [sys.executable, "-c", PROGRAM.format(deadline=DEADLINE), mode],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    out, err = process.communicate(timeout=30)
    return process.returncode, time.monotonic() - started, out + err


def test_a_turning_loop_gets_its_signal_as_before() -> None:
    status, took, output = _stopped("turning")
    assert (status, "handled" in output) == (0, True), output
    assert took < DEADLINE


def test_a_stuck_loop_is_ended_at_the_deadline() -> None:
    status, took, output = _stopped("stuck")
    assert status == EXIT_STATUS and "handled" not in output, output
    assert DEADLINE <= took < DEADLINE + 2
    assert "its event loop is stuck" in output and "in main" in output  # the stacks say where
    assert "starting the step that gets stuck" in output  # and the lines say what it was doing
