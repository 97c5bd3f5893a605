"""What the scale-out tests share: a Valkey of their own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scanfleet.embedded import EmbeddedValkey


@pytest.fixture(scope="module")
def own_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Valkey for this module alone: the session's worker must not take jobs whose rows live elsewhere."""
    valkey = EmbeddedValkey(tmp_path_factory.mktemp("valkey"))
    yield valkey.start(persist=False)
    valkey.stop()
