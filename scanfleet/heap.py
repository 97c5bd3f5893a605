"""The heap a process made while starting, kept out of the garbage collector's way.

The modules, the API's routes and schemas, the tracker lists: objects that live as long as the process. Every full
collection walked all of them again while requests and jobs made garbage. Frozen, a collection walks only what was
made since. Only the server processes do this, once they are built: a frozen object is never collected, so a
test process making many apps would keep every one."""

from __future__ import annotations

import gc


def freeze() -> int:
    """Collect what starting left behind, then freeze everything still alive; how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
