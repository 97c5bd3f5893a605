"""The `scanfleet` command: run the platform, manage organisations and keys, submit scans."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn
from urllib.parse import urlsplit

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from scanfleet import runtime
from scanfleet.broker import connection
from scanfleet.broker.gate import Gate
from scanfleet.client import UNREACHABLE, unreachable
from scanfleet.config import Settings, get_settings
from scanfleet.db import api_keys, orgs
from scanfleet.db.pool import connect
from scanfleet.logs import configure_logging, log_to_console
from scanfleet.model import ENGINES
from scanfleet.tiers import TIERS


def _settings() -> Settings:
    return runtime.resolve(get_settings())


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def _cannot_reach(what: str, url: str, exc: BaseException) -> NoReturn:
    print(unreachable(what, _without_password(url), exc), file=sys.stderr)
    sys.exit(UNREACHABLE)


def _with_db(action: Callable[[Any, argparse.Namespace], Awaitable[int]]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        settings = _settings()
        if not settings.database_url:
            sys.exit("no database: start `scanfleet up` (from any directory), or set DATABASE_URL")
        url = settings.database_url

        async def go() -> int:
            try:
                conn = await connect(settings)
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                _cannot_reach("PostgreSQL", url, exc)
            try:
                return await action(conn, args)
            finally:
                await conn.close()

        return asyncio.run(go())

    return run


def cmd_up(args: argparse.Namespace) -> int:
    from scanfleet import supervisor
    from scanfleet.embedded import EmbeddedServerError

    settings = get_settings()
    if args.workers is not None:
        settings = settings.model_copy(update={"workers": args.workers})
    configure_logging(settings.log_level)
    log_to_console(supervisor.log.name, "scanfleet.embedded")
    try:
        return asyncio.run(supervisor.run(settings))
    except (runtime.AlreadyRunning, supervisor.PortTaken) as exc:
        supervisor.log.error("%s", exc)
    except EmbeddedServerError as exc:
        supervisor.log.error("an embedded server did not start: %s", exc)
    return 1


def replica_bounds(text: str) -> tuple[int, int]:
    """`MIN:MAX` for --autoscale (their limits are checked by the policy)."""
    low, sep, high = text.partition(":")
    try:
        if sep:
            return int(low), int(high)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"expected MIN:MAX, got {text!r}")


def cmd_worker(args: argparse.Namespace) -> int:
    import os

    from scanfleet.autoscale.policy import ScalingPolicy

    settings = _settings()
    policy = None
    if args.autoscale is not None:
        low, high = args.autoscale
        settings = settings.model_copy(update={"autoscale_min_replicas": low, "autoscale_max_replicas": high})
        try:
            policy = ScalingPolicy.from_settings(settings)
        except ValueError as error:
            sys.exit(f"--autoscale: {error}")
    if not (settings.database_url and settings.redis_url):
        sys.exit("no servers: start `scanfleet up` in another terminal, or set DATABASE_URL and REDIS_URL")
    from scanfleet.autoscale import supervisor

    if policy is None:
        # One worker in the foreground: this process becomes it, so signals reach it directly.
        env = supervisor.worker_env(settings)
        os.execve(sys.executable, [sys.executable, "-m", "scanfleet.worker"], env)  # noqa: S606 - our own argv, no shell

    port = settings.worker_metrics_port - 1 if args.metrics_port is None else args.metrics_port
    configure_logging(settings.log_level)
    return asyncio.run(supervisor.run(settings, policy, max(port, 0)))


def cmd_migrate(_: argparse.Namespace) -> int:
    from scanfleet.supervisor import prepare_schema

    settings = _settings()
    if not settings.database_url:
        sys.exit("no database: set DATABASE_URL (or use `scanfleet up`, which migrates)")
    applied = asyncio.run(prepare_schema(settings, settings.database_url))
    print(f"applied: {', '.join(applied)}" if applied else "schema up to date")
    return 0


@_with_db
async def cmd_org_create(conn: Any, args: argparse.Namespace) -> int:
    if await orgs.get_by_name(conn, args.name):
        sys.exit(f"organisation {args.name!r} already exists")
    org = await orgs.create(conn, args.name, args.tier)
    print(f"organisation {org.name} ({org.tier}) id {org.id}")
    return 0


@_with_db
async def cmd_org_list(conn: Any, _: argparse.Namespace) -> int:
    for org in await orgs.list_all(conn):
        print(f"{org.id}  {org.tier:<10}  {org.name}")
    return 0


@_with_db
async def cmd_org_set(conn: Any, args: argparse.Namespace) -> int:
    org = await _org_named(conn, args.name)
    max_running = org.max_running if args.max_running is None else (None if args.max_running < 0 else args.max_running)
    max_queued = org.max_queued if args.max_queued is None else (None if args.max_queued < 0 else args.max_queued)
    updated = await orgs.set_capacity(conn, org.id, args.tier or org.tier, max_running, max_queued)
    assert updated is not None
    # The gate holds each org's limits for promotions; tell it now, so raised limits apply at once.
    settings = _settings()
    redis = await connection.connect(settings)
    try:
        await Gate(redis).set_limits(updated.id, updated.limits)
    except (RedisConnectionError, RedisTimeoutError) as exc:
        _cannot_reach("Redis", settings.redis_url or "", exc)
    finally:
        await redis.aclose()
    limits = updated.limits
    print(f"{updated.name}: {limits.tier}, {limits.max_running} running / {limits.max_queued} queued")
    return 0


async def _org_named(conn: Any, name: str) -> orgs.Org:
    org = await orgs.get_by_name(conn, name)
    if org is None:
        sys.exit(f"no organisation named {name!r}: create it first with `scanfleet org create {name}`")
    return org


@_with_db
async def cmd_key_create(conn: Any, args: argparse.Namespace) -> int:
    org = await _org_named(conn, args.org)
    scopes = (api_keys.ADMIN_SCOPE,) if args.admin else ()
    key_id, key = await api_keys.create(conn, org.id, args.name, scopes)
    # The key alone on stdout, so `export SCANFLEET_API_KEY=$(scanfleet key create …)` takes it.
    print(f"API key {key_id} for {org.name} — shown once, store it now:", file=sys.stderr, flush=True)
    print(key, flush=True)
    return 0


@_with_db
async def cmd_key_list(conn: Any, args: argparse.Namespace) -> int:
    org = await _org_named(conn, args.org)
    after = None
    while page := await api_keys.list_for_org(conn, org.id, after, 500):
        for key in page:
            state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            scopes = ",".join(key.scopes) or "-"
            print(f"{key.id}  {key.prefix}…  {scopes:<6}  used {used:<16}  {state:<24}  {key.name}")
        after = page[-1].id
    return 0


@_with_db
async def cmd_key_revoke(conn: Any, args: argparse.Namespace) -> int:
    org = await _org_named(conn, args.org)
    # The operator's own tool: unlike the API, it may revoke an organisation's last admin key.
    revoked = await api_keys.revoke(conn, org.id, args.key_id)
    if revoked is None:
        sys.exit(f"{org.name} has no working API key {args.key_id}")
    print(f"API key {revoked.id} ({revoked.name}) of {org.name} revoked")
    return 0


def cmd_scan(args: argparse.Namespace) -> int:
    from scanfleet.client import submit_and_follow

    if not args.key:
        sys.exit("no API key: pass --key or set SCANFLEET_API_KEY (`scanfleet key create --org NAME` makes one)")
    api_url = args.api_url or runtime.api_url(get_settings())
    return submit_and_follow(
        api_url, args.key, args.url, wait=args.wait, timeout=args.timeout, fresh=args.fresh, engine=args.engine
    )


def parser() -> argparse.ArgumentParser:
    import os

    root = argparse.ArgumentParser(prog="scanfleet", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run api + workers + scheduler (embedded servers unless URLs are set)")
    up.add_argument("--workers", type=int, help="worker processes (default: SCANFLEET_WORKERS or 2)")
    up.set_defaults(run=cmd_up)

    worker = sub.add_parser("worker", help="run a worker, or a fleet of them scaled by the queue (--autoscale)")
    worker.add_argument(
        "--autoscale", type=replica_bounds, metavar="MIN:MAX", help="supervise MIN..MAX workers, scaled by the policy"
    )
    worker.add_argument(
        "--metrics-port", type=int, help="supervisor /metrics port (default: SCANFLEET_WORKER_METRICS_PORT - 1; 0: off)"
    )
    worker.set_defaults(run=cmd_worker)

    sub.add_parser("migrate", help="apply pending migrations and make partitions").set_defaults(run=cmd_migrate)

    org = sub.add_parser("org", help="organisations").add_subparsers(dest="org_command", required=True)
    create = org.add_parser("create", help="create an organisation")
    create.add_argument("name")
    create.add_argument("--tier", choices=TIERS, default="free")
    create.set_defaults(run=cmd_org_create)
    org.add_parser("list", help="list organisations").set_defaults(run=cmd_org_list)
    org_set = org.add_parser("set", help="change an organisation's tier or limits (applies at once)")
    org_set.add_argument("name")
    org_set.add_argument("--tier", choices=TIERS)
    org_set.add_argument("--max-running", type=int, help="override the tier's running limit (-1 clears it)")
    org_set.add_argument("--max-queued", type=int, help="override the tier's queued limit (-1 clears it)")
    org_set.set_defaults(run=cmd_org_set)

    key = sub.add_parser("key", help="API keys").add_subparsers(dest="key_command", required=True)
    key_create = key.add_parser("create", help="create an API key (shown once)")
    key_create.add_argument("--org", required=True, help="organisation name")
    key_create.add_argument("--name", default="default", help="a label for the key")
    key_create.add_argument("--admin", action="store_true", help="may set any organisation's tier and limits")
    key_create.set_defaults(run=cmd_key_create)
    key_list = key.add_parser("list", help="an organisation's API keys (never their secrets)")
    key_list.add_argument("--org", required=True, help="organisation name")
    key_list.set_defaults(run=cmd_key_list)
    key_revoke = key.add_parser("revoke", help="revoke an API key at once")
    key_revoke.add_argument("key_id", type=uuid.UUID, help="the key's id (see `scanfleet key list`)")
    key_revoke.add_argument("--org", required=True, help="organisation name")
    key_revoke.set_defaults(run=cmd_key_revoke)

    scan = sub.add_parser("scan", help="submit a privacy scan through the API")
    scan.add_argument("url")
    scan.add_argument("--wait", action="store_true", help="follow the scan to the end and print a summary")
    scan.add_argument("--fresh", action="store_true", help="scan anew, even if a recent scan of this URL exists")
    scan.add_argument(
        "--engine", choices=ENGINES, default="http", help="http: the page's HTML and headers; browser: run in Chromium"
    )
    scan.add_argument("--timeout", type=float, default=300.0, help="seconds to wait with --wait")
    scan.add_argument("--api-url", help="default: SCANFLEET_API_HOST/PORT if set, else the running `scanfleet up`")
    scan.add_argument("--key", default=os.environ.get("SCANFLEET_API_KEY"), help="default: SCANFLEET_API_KEY")
    scan.set_defaults(run=cmd_scan)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
