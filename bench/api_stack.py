"""The API's own cost per request: `python -m scanfleet.api` under wrk, side by side with a bare FastAPI app.

    python -m bench.api_stack [--connections 50,500] [--duration 10] [--keys 100] [--profile DIR]

Starts an embedded PostgreSQL and Valkey in a temporary directory, migrates a fresh database, makes one enterprise
organisation whose own running and queued limits admit every scan, and `--keys` API keys for it. Then two real
server processes on loopback ports of their own, with the same environment:

  scanfleet  `python -m scanfleet.api`, as production runs it (its server settings, workers and middleware).
  floor      a bare FastAPI app with one route answering {"status": "ok"}, served by the same uvicorn
             configuration (`scanfleet.api.server`: protocol, event loop, worker processes, limits).

For each connection count, wrk (`--threads` threads, `--duration` seconds, after an untimed warm-up of a few
seconds) runs against scanfleet's GET /healthz, GET /v1/scans/{id} (a queued scan of the organisation) and
POST /v1/scans, each right after a run against the floor's route: each ratio is of two runs a few seconds apart,
so load from elsewhere on the machine skews it less than it skews the absolute figures.

Requests take the keys in turn (the tier's rate limit is per key: spread over many keys, as many clients would, it
admits the load; a 429 is counted and shown all the same). Every POST submits a URL no other request used, so each
one makes a new scan (no in-flight or recent reuse).

The table shows req/s, p50/p99 latency, wrk's socket errors and the statuses seen, the floor's rate in the run
just before, and the row's rate as a share of it. A second table gives each run's CPU time per request (user and
system) by process: the server under test, PostgreSQL and Valkey (for the routes that use them), and wrk; then
the floor's whole request over this one's, a share that load from elsewhere on the machine moves less than it
moves the rates. While the runs last, this script runs the scheduler's rounds that a submission's lookup depends
on (`_servers.scheduler_upkeep`: statistics for filling partitions, the bound of the days it reads) every
`SCANFLEET_SCHEDULER_INTERVAL_SECONDS`; wrk runs in a thread meanwhile.

The benchmark fails (exit status 1) if a run had socket errors or a status other than the route's own (2xx; 429
where a key is sent), or if the POSTs did not create the scans they were answered for: fewer rows with the run's
URLs than 202s, more than 202s plus requests still in flight when wrk stopped, or a URL in two rows.

With --profile DIR, py-spy samples every process of the API (`--subprocesses`) during each measured scanfleet
run, and writes a flame graph (SVG) and its collapsed stacks per run into DIR; the functions with the largest
share of samples are printed under the table.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil
from fastapi import FastAPI

from bench._process_tree import SERVERS, servers_cpu, usage
from bench._report import arguments, comma_list, table
from bench._servers import UNLIMITED, cancel_on_sigterm, postgres_and_valkey, scheduler_upkeep, stop_processes
from scanfleet.config import Settings
from scanfleet.db import api_keys, orgs, scans
from scanfleet.db.pool import create_pool
from scanfleet.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("api_stack.wrk.lua")
URL_PREFIX = "https://shop.example.com/p/"  # the POSTs' URLs: this, the run's tag, the thread and a counter


def tool(name: str) -> str:
    """A program on PATH or beside this Python (py-spy installs into the virtualenv)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise RuntimeError(f"{name} is not installed")
    return found


class NotThisRun(RuntimeError):
    """A run would report what it did not do: errors, statuses it should not answer, scans it did not make."""


def floor_app() -> FastAPI:
    """The floor: FastAPI with one route and nothing else."""
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass(frozen=True)
class Target:
    name: str
    slug: str  # names its profile's files
    method: str
    path: str
    authenticated: bool  # sends a key: reads its organisation's data from PostgreSQL and Valkey

    def allowed(self, status: int) -> bool:
        expected = 202 if self.method == "POST" else 200
        return status == expected or (self.authenticated and status == 429)


@dataclass
class Run:
    target: Target
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: dict[str, int]
    statuses: dict[int, int]
    tag: str
    floor: Run | None = None  # the floor's run just before this one
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds each part of the machine spent on the run

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def unexpected(self) -> dict[int, int]:
        return {status: n for status, n in self.statuses.items() if not self.target.allowed(status)}


def wrk(base_url: str, target: Target, connections: int, seconds: float, threads: int, keys: list[str]) -> Run:
    tag = uuid.uuid4().hex[:12]
    settings = (
        f"KEYS = {{{', '.join(json.dumps(key) for key in keys) if target.authenticated else ''}}}\n"
        f"METHOD = {json.dumps(target.method)}\nPATH = {json.dumps(target.path)}\nRUN = {json.dumps(tag)}\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(settings + SCRIPT.read_text())
    try:
        done = subprocess.run(
            [tool("wrk"), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s", "-s", script.name,
             base_url + target.path],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(script.name)
    line = next((line for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
    if line is None:
        raise NotThisRun(f"wrk printed no result for {target.name}:\n{done.stdout}\n{done.stderr}")
    found = json.loads(line.removeprefix("RESULT "))
    return Run(
        target, connections, found["requests"], found["duration_us"] / 1e6, found["p50_us"] / 1000,
        found["p99_us"] / 1000, found["errors"], {int(s): n for s, n in found["statuses"].items()}, tag,
    )  # fmt: skip


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path


def start_server(name: str, argv: list[str], env: dict[str, str], logs: Path) -> Server:
    port = free_port()
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, env={**env, "SCANFLEET_API_PORT": str(port)}, stdout=out, stderr=subprocess.STDOUT
        )
    return Server(name, process, f"http://127.0.0.1:{port}", log)


def wait_serving(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited ({server.process.returncode}):\n{server.log.read_text()[-2000:]}")
        try:
            if httpx.get(server.base_url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{server.name} did not answer within {timeout}s:\n{server.log.read_text()[-2000:]}")
        time.sleep(0.1)


CPU_PARTS = ("server", *SERVERS, "wrk")


def cpu_now(server: Server) -> dict[str, float]:
    """CPU seconds used so far by the server under test (its supervisor and worker processes), the database servers,
    and wrk: an exited child, whose time is in this process's children times."""
    exited = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "server": usage(psutil.Process(server.process.pid), with_uss=False).cpu,
        **servers_cpu(),
        "wrk": exited.ru_utime + exited.ru_stime,
    }


def warm_up(server: Server, target: Target, connections: int, args: argparse.Namespace, keys: list[str]) -> None:
    """An untimed run, its figures dropped: connections made, caches and the server's code paths warm."""
    wrk(server.base_url, target, connections, args.warmup, args.threads, keys)


def measured(server: Server, target: Target, connections: int, args: argparse.Namespace, keys: list[str]) -> Run:
    """A timed wrk run, with the CPU each part of the machine spent on it."""
    before = cpu_now(server)
    run = wrk(server.base_url, target, connections, args.duration, args.threads, keys)
    after = cpu_now(server)
    run.cpu = {part: after[part] - before[part] for part in CPU_PARTS}
    return run


class Profiler:
    """py-spy on a server and its worker processes while a run lasts; a flame graph and collapsed stacks per run."""

    def __init__(self, directory: Path | None, pid: int) -> None:
        self.directory, self.pid = directory, pid
        self.tops: dict[str, list[tuple[float, str]]] = {}

    def record(self, name: str, seconds: float) -> subprocess.Popen[bytes] | None:
        """Start sampling for `seconds` (the run's own length: py-spy starts as wrk does)."""
        if self.directory is None:
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            [tool("py-spy"), "record", "--subprocesses", "--nonblocking", "-r", "200", "-d", str(int(seconds)),
             "-p", str(self.pid), "-f", "raw", "-o", str(self.directory / f"{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def collect(self, name: str, recording: subprocess.Popen[bytes] | None) -> None:
        if recording is None or self.directory is None:
            return
        recording.wait(60)
        raw = self.directory / f"{name}.txt"
        if raw.exists():
            self.tops[name] = top_frames(raw)
            flamegraph(raw, self.directory / f"{name}.svg")


# The event loop and process start-up, under every sample: the profile's top is what runs inside them.
_MACHINERY = ("asyncio/", "multiprocessing/", "<frozen runpy>", "uvicorn/server.py", "uvicorn/_compat.py",
              "uvicorn/supervisors/", "uvicorn/_subprocess.py", "scanfleet/api/__main__.py", "<string>")  # fmt: skip


def top_frames(raw: Path, count: int = 15) -> list[tuple[float, str]]:
    """The functions on most of the sampled stacks (inclusive share of all samples, each counted once per stack),
    the event loop's frames and the middleware chain above every request left out; then the leaves (where the
    time itself went) marked "self"."""
    on_stack: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        # py-spy's frames are "function (file:line)", after one "process …" frame per process; without the line
        # number, a function called from two places is one.
        frames = [frame.rsplit(":", 1)[0] + ")" for frame in stack.split(";") if not frame.startswith("process ")]
        total += int(n)
        if frames:
            leaves[frames[-1]] += int(n)
        on_stack.update(dict.fromkeys((f for f in frames if not any(m in f for m in _MACHINERY)), int(n)))
    if not total:
        return []
    # The middleware chain is under nearly every request's samples: what the requests spend is below it.
    chain = 0.5 * max(on_stack.values(), default=0)
    inclusive = [(100 * n / total, name) for name, n in on_stack.most_common() if n < chain][:count]
    return inclusive + [(100 * n / total, f"self: {name}") for name, n in leaves.most_common(count // 2)]


def flamegraph(raw: Path, svg: Path) -> None:
    """py-spy's SVG from the collapsed stacks, when flamegraph.pl is there; the collapsed stacks are kept anyway."""
    tool = shutil.which("flamegraph.pl") or shutil.which("inferno-flamegraph")
    if tool is not None:
        with svg.open("wb") as out:
            subprocess.run([tool, str(raw)], stdout=out, check=False)


HEADER = ["target", "conns", "requests", "req/s", "p50 ms", "p99 ms", "errors", "statuses", "floor req/s", "× floor"]


def row(run: Run) -> list[object]:
    statuses = " ".join(f"{status}:{n}" for status, n in sorted(run.statuses.items()))
    floor = run.floor.rate if run.floor else run.rate
    return [
        run.target.name, run.connections, run.requests, f"{run.rate:,.0f}", f"{run.p50_ms:.1f}", f"{run.p99_ms:.1f}",
        sum(run.errors.values()), statuses, f"{floor:,.0f}", f"{run.rate / floor:.2f}",
    ]  # fmt: skip


CPU_HEADER = ["target", "conns", *CPU_PARTS, "all", "floor's all", "floor / this"]


def cpu_per_request(run: Run) -> dict[str, float]:
    """µs of CPU per request by part. The database servers count only for routes that use them: during the others
    their CPU is upkeep and what the run before left them (autovacuum, checkpoints)."""
    parts = CPU_PARTS if run.target.authenticated else ("server", "wrk")
    return {part: 1e6 * run.cpu[part] / run.requests for part in parts}


def cpu_row(run: Run) -> list[object]:
    """Where each request's CPU went: a share of the floor's that no other load on the machine moves much."""
    per_request = cpu_per_request(run)
    own = sum(per_request.values())
    floor = sum(cpu_per_request(run.floor).values()) if run.floor else own
    cells = (f"{per_request[part]:.0f}" if part in per_request else "-" for part in CPU_PARTS)
    return [run.target.name, run.connections, *cells, f"{own:.0f}", f"{floor:.0f}", f"{floor / own:.2f}"]


GOALS = {"GET /healthz": 0.8, "GET /v1/scans/{id}": 0.5, "POST /v1/scans": 0.3}


def goals(runs: list[Run]) -> list[str]:
    lines = []
    for run in runs:
        share = GOALS.get(run.target.name)
        if share is None or run.floor is None:
            continue
        ratio = run.rate / run.floor.rate
        lines.append(f"{run.target.name} at {run.connections}: {ratio:.2f}× the floor (goal ≥ {share}×): "
                     f"{'met' if ratio >= share else 'NOT met'}")  # fmt: skip
        if run.target.method == "POST" and run.connections == 50:
            lines.append(f"POST /v1/scans at 50: p99 {run.p99_ms:.0f} ms (goal < 100 ms): "
                         f"{'met' if run.p99_ms < 100 else 'NOT met'}")  # fmt: skip
    return lines


async def check_created(settings: Settings, run: Run) -> str:
    """The POSTs made the scans they were answered for: one row per URL, at least one per 202."""
    pool = await create_pool(settings)
    try:
        found = await pool.fetchrow(
            "SELECT count(*), count(DISTINCT url) FROM scans WHERE url LIKE $1", f"{URL_PREFIX}{run.tag}-%"
        )
        assert found is not None  # an aggregate always has its row
        rows, urls = found
    finally:
        await pool.close()
    accepted = run.statuses.get(202, 0)
    if rows != urls:
        raise NotThisRun(f"POST at {run.connections}: {rows - urls} URLs have more than one scan row")
    # wrk stops counting at its deadline: requests still in flight then may have made rows nobody saw answered.
    if not accepted <= rows <= accepted + run.connections:
        raise NotThisRun(f"POST at {run.connections}: {accepted} answered 202 but {rows} scan rows were made")
    return f"POST at {run.connections}: {accepted} answered 202, {rows} scan rows, each URL once"


async def measure(args: argparse.Namespace, settings: Settings, logs: Path) -> None:
    pool = await create_pool(settings)
    try:
        org = await orgs.create(pool, "bench", "enterprise")
        await orgs.set_capacity(pool, org.id, "enterprise", UNLIMITED, UNLIMITED)
        keys = [(await api_keys.create(pool, org.id, f"bench-{n}"))[1] for n in range(args.keys)]
        scan = await scans.insert(pool, org.id, "https://shop.example.com/")
    finally:
        await pool.close()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": settings.database_url or "",
        "REDIS_URL": settings.redis_url or "",
        "SCANFLEET_LOG_LEVEL": "INFO",
    }
    api = start_server("scanfleet", [sys.executable, "-m", "scanfleet.api"], env, logs)
    floor = start_server("floor", [sys.executable, "-m", "bench.api_stack", "--floor"], env, logs)
    servers = [api, floor]
    upkeep_pool: asyncpg.Pool | None = None
    try:
        upkeep_pool = await create_pool(settings)
        for server in servers:
            wait_serving(server)
        floor_target = Target("floor (bare FastAPI)", "floor", "GET", "/healthz", False)
        targets = [
            Target("GET /healthz", "healthz", "GET", "/healthz", False),
            Target("GET /v1/scans/{id}", "get-scan", "GET", f"/v1/scans/{scan.id}", True),
            Target("POST /v1/scans", "post-scans", "POST", "/v1/scans", True),
        ]
        profiler = Profiler(args.profile, api.process.pid)
        runs: list[Run] = []
        checks: list[str] = []
        # wrk runs in a thread: the loop goes on with the scheduler's upkeep meanwhile.
        async with scheduler_upkeep(upkeep_pool, settings):
            for connections in args.connections:
                for target in targets:
                    await asyncio.to_thread(warm_up, floor, floor_target, connections, args, keys)
                    floor_run = await asyncio.to_thread(measured, floor, floor_target, connections, args, keys)
                    await asyncio.to_thread(warm_up, api, target, connections, args, keys)
                    recording = profiler.record(f"{target.slug}-{connections}", args.duration)
                    run = await asyncio.to_thread(measured, api, target, connections, args, keys)
                    profiler.collect(f"{target.slug}-{connections}", recording)
                    run.floor = floor_run
                    runs += [floor_run, run]
                    print(f"{target.name} at {connections} connections: {run.rate:,.0f} req/s "
                          f"(floor just before: {floor_run.rate:,.0f})", flush=True)  # fmt: skip
                    if target.method == "POST":
                        checks.append(await check_created(settings, run))
    finally:
        stop_processes([server.process for server in servers])
        if upkeep_pool is not None:
            await upkeep_pool.close()
    workers = Settings().api_workers  # what both servers read from the same environment
    # Everything shares this machine: other load on it moves the absolute figures (the paired ratios less).
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nwrk -t{args.threads} -d{args.duration:g}s --timeout 30s; {workers} worker processes per server; "
          f"{args.keys} keys; {os.cpu_count()} CPUs, load average now {load}\n")  # fmt: skip
    print(table(HEADER, [row(run) for run in runs]))
    print("\nCPU µs per request, by process (the floor's: the run just before):\n")
    print(table(CPU_HEADER, [cpu_row(run) for run in runs]))
    print("\n" + "\n".join(goals(runs)))
    print("\n" + "\n".join(checks))
    for name, top in profiler.tops.items():
        print(f"\nprofile {name} (share of samples on the stack):")
        for share, function in top:
            print(f"  {share:5.1f}%  {function}")
    problems = [
        f"{run.target.name} at {run.connections}: {problem}"
        for run in runs
        for problem in (
            [f"socket errors {run.errors}"] if sum(run.errors.values()) else []
        ) + ([f"unexpected statuses {run.unexpected()}"] if run.unexpected() else [])
    ]  # fmt: skip
    if problems:
        raise NotThisRun("; ".join(problems))


async def main(args: argparse.Namespace) -> None:
    cancel_on_sigterm()
    async with postgres_and_valkey("bench-api-", Settings()) as (settings, logs):
        await measure(args, settings, logs)


def serve_floor() -> None:
    from scanfleet.api import server
    from scanfleet.config import get_settings

    server.run("bench.api_stack:floor_app", get_settings())


def parse_args() -> argparse.Namespace:
    parser = arguments(__doc__)
    parser.add_argument("--connections", type=comma_list(int), default=[50, 500], help="wrk connections (50,500)")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured run (default 10)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of untimed warm-up before each run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--keys", type=int, default=100, help="API keys the requests take in turn (default 100)")
    parser.add_argument("--profile", type=Path, help="sample the API with py-spy; flame graphs into this directory")
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments_ = parse_args()
    if arguments_.floor:
        serve_floor()
    else:
        try:
            asyncio.run(main(arguments_))
        except NotThisRun as exc:
            print(f"\nbench.api_stack: {exc}", file=sys.stderr)
            sys.exit(1)
