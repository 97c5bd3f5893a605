"""Where this machine's Chromium is: the browser engine launches it, and `scanfleet up` starts a browser worker
only when there is one."""

from __future__ import annotations

import shutil
from pathlib import Path

NAMES = ("chromium", "chromium-browser")
HOW_TO_GET_ONE = "apt-get install chromium, or `playwright install chromium` where there is internet"


def chromium_path(configured: Path | None) -> Path | None:
    """SCANFLEET_BROWSER_EXECUTABLE when it names a file, else chromium or chromium-browser on PATH; None if none."""
    if configured is not None:
        return configured if configured.is_file() else None
    for name in NAMES:
        if found := shutil.which(name):
            return Path(found)
    return None
