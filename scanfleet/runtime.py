"""What a running `scanfleet up` tells other commands: where its embedded servers and API listen."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from scanfleet.config import Settings

FILENAME = "runtime.json"


@dataclass(frozen=True)
class Runtime:
    pid: int
    database_url: str
    redis_url: str
    api_url: str

    def save(self, data_dir: Path) -> None:
        path = data_dir / FILENAME
        path.write_text(json.dumps(asdict(self)))
        path.chmod(0o600)

    @staticmethod
    def load(data_dir: Path) -> Runtime | None:
        """The runtime of a live `scanfleet up` under data_dir, if there is one."""
        try:
            runtime = Runtime(**json.loads((data_dir / FILENAME).read_text()))
        except (OSError, ValueError, TypeError):
            return None
        try:
            os.kill(runtime.pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return runtime

    @staticmethod
    def clear(data_dir: Path) -> None:
        (data_dir / FILENAME).unlink(missing_ok=True)


def resolve(settings: Settings) -> Settings:
    """Settings with the URLs of a running `scanfleet up` filled in where the environment sets none."""
    if settings.database_url and settings.redis_url:
        return settings
    runtime = Runtime.load(settings.data_dir)
    if runtime is None:
        return settings
    return settings.model_copy(
        update={
            "database_url": settings.database_url or runtime.database_url,
            "redis_url": settings.redis_url or runtime.redis_url,
        }
    )
