"""The breakers never make a synchronous Redis call: nothing in the package can reach the sync client."""

from __future__ import annotations

import ast
from pathlib import Path

import scanfleet.breakers

ASYNC_SAFE = {"redis.asyncio", "redis.exceptions"}


def test_the_breakers_import_only_the_async_redis_client() -> None:
    imported = set()
    for module in Path(scanfleet.breakers.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
    redis_modules = {name for name in imported if name == "redis" or name.startswith("redis.")}
    assert redis_modules and redis_modules <= ASYNC_SAFE
