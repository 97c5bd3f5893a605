"""What an event says: its type and payload, written with the result, and the body POSTed to receivers."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Literal

from scanfleet.model import Job, Outcome

EventType = Literal["scan.completed", "run.completed"]
EVENT_TYPES: tuple[EventType, ...] = ("scan.completed", "run.completed")


def completion(scan: Job, outcome: Outcome) -> tuple[EventType, dict[str, Any]]:
    """The event a finished scan or test run sends: enough to act on without calling back."""
    error = {"code": outcome.error_code, "message": outcome.error_message or ""} if outcome.error_code else None
    data = {
        "id": str(scan.id), "kind": scan.kind, "status": outcome.status.value,
        "created_at": scan.created_at.isoformat(), "url": scan.url, "final_url": outcome.final_url,
        "http_status": outcome.http_status, "verdict": outcome.verdict, "error": error, "summary": outcome.summary(),
    }  # fmt: skip
    return ("scan.completed" if scan.kind == "privacy" else "run.completed"), data


def body(event_id: uuid.UUID, type_: str, created_at: datetime, data: dict[str, Any]) -> bytes:
    """The exact bytes signed and sent: the same for every attempt at one event."""
    envelope = {"id": str(event_id), "type": type_, "created_at": created_at.isoformat(), "data": data}
    return json.dumps(envelope, separators=(",", ":")).encode()
