"""The server's micro-batching: loopback load on a trained sentiment run, batched against unbatched.

Two servers of the same run, one after the other, started as a user would (``main.py --checkpoint RUN
--serve``): the default micro-batching (``--max-batch 32 --batch-wait-ms 5``) and ``--max-batch 1``
(every request its own forward pass); nothing else differs between them. Each gets the same load:
``--clients`` concurrent clients (16) sending ``--requests`` single-text requests in all (2,000), each
client a keep-alive connection. Printed per server: errors (target 0), p50 and p99 latency, requests per
second, the mean micro-batch, and the CPU time per request of the server process and of this load
generator; then the throughput ratio (target >= 3x) and how many answers the two servers agree on.
Before timing, each server answers ``--warmup`` requests that are not counted. ``--threads N`` starts
both servers with ``--threads N`` (torch's intra-op threads).

The workload (``--workload``) is what a deployment of this product's sentiment task serves: its default
model (BiGRU, 64 units) trained briefly on IMDB, answering real IMDB test reviews (a seeded sample), so
that the forward pass costs what it costs in use (a review alone is several milliseconds; in a batch,
a fraction of that each). Micro-batching exists for that cost; it cannot remove the per-request HTTP
and JSON work, which dominates on the alternative, ``--workload rt_polarity`` (one-line sentences, a
forward pass under a millisecond). Without ``--run``, the run is trained first, in a temporary folder:
IMDB as bench/batch_predict.py trains it (one epoch on ``--limit`` reviews), rt_polarity one epoch on
``--limit`` sentences. It measures serving, not accuracy, so the model need only be the real
architecture.

The load generator is lean on purpose: on a small machine it shares the cores with the server, and an
HTTP client library (httpx costs about as much CPU per request as the server) would measure the client.
Each client is a raw HTTP/1.1 keep-alive connection over asyncio streams, its requests' bytes built
before timing, reading only the status line, Content-Length and the body. Every answer is kept: the
first few are checked against what ``--predict`` answers (through the API the CLI shares), and the
batched server's labels against the unbatched server's.

Loopback only; bounded: every request (``--timeout`` seconds), each server's start (180 s) and each
load (``--timeout`` + 2 s per request, at most). The last line is one comparable figure set, e.g.
``batched_rps=R single_rps=R ratio=X errors=N workload=imdb``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from suite.errors import UserError, exit_on_user_error  # noqa: E402

CHECKED = 8  # answers compared with --predict's, per server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def data_root(given: str | None) -> Path:
    return Path(given or os.environ.get("RNN_SUITE_DATA") or REPO.parent / "shared" / "data")


# --- the workloads: a trained run and the texts to send --------------------------------------------------
def imdb_workload(where: Path, root: Path, limit: int, run: Path | None, n: int) -> tuple[Path, list[str]]:
    import pandas as pd
    from batch_predict import imdb_folder, train_run  # the IMDB run bench/batch_predict.py measures

    imdb = imdb_folder(str(root))
    run = run or train_run(where, imdb, limit)
    reviews = pd.read_csv(imdb / "test.csv.gz")["text"]
    return run, reviews.sample(n, random_state=0, replace=n > len(reviews)).tolist()


def rt_polarity_workload(where: Path, root: Path, limit: int, run: Path | None, n: int) -> tuple[Path, list[str]]:
    data = root / "sentiment" / "rt_polarity"
    if not data.is_dir():
        raise UserError(f"{data}: not found; give --run RUN or --data-root")
    if run is None:
        run = where / "run"
        done = subprocess.run([sys.executable, str(REPO / "main.py"), "--task", "sentiment", "--data", str(data),
                               "--limit", str(limit), "--max-epochs", "1", "--run-dir", str(run)],
                              capture_output=True, text=True, timeout=600)
        if done.returncode:
            raise UserError(f"training the benchmark's run failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    lines = [line.strip() for name in ("rt-polarity.pos", "rt-polarity.neg")
             for line in (data / name).read_text(encoding="latin-1").splitlines() if line.strip()]
    rng = random.Random(0)
    return run, [rng.choice(lines) for _ in range(n)]


WORKLOADS = {"imdb": imdb_workload, "rt_polarity": rt_polarity_workload}


# --- the load generator ---------------------------------------------------------------------------------
def request_bytes(port: int, text: str) -> bytes:
    body = json.dumps({"input": text}).encode("utf-8")
    return (f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode("ascii") + body


class BadResponse(Exception):
    pass


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """``(status, body)`` of one HTTP/1.1 response with a Content-Length (what the server sends)."""
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 ") or len(head) < 12:
        raise BadResponse(f"not an HTTP/1.1 status line: {head[:40]!r}")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        raise BadResponse("no Content-Length")
    end = lower.index(b"\r\n", at + 2)
    return status, await reader.readexactly(int(lower[at + 17:end]))


async def run_load(port: int, requests: list[bytes], clients: int, timeout: float) -> dict:
    """Send ``requests`` over ``clients`` keep-alive connections: each request's latency and answer (by
    index; None where it failed), the failures, and the wall time."""
    latencies: list[float] = []
    answers: list[tuple[int, bytes] | None] = [None] * len(requests)
    pending = list(range(len(requests) - 1, -1, -1))
    errors = [0]

    async def client() -> None:
        connection = None
        while pending:
            index = pending.pop()
            start = time.perf_counter()
            try:
                async with asyncio.timeout(timeout):
                    if connection is None:
                        connection = await asyncio.open_connection("127.0.0.1", port)
                    reader, writer = connection
                    writer.write(requests[index])
                    answers[index] = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError,
                    BadResponse):
                if connection is not None:
                    connection[1].close()
                connection = None  # a broken connection is replaced, and the request counts as failed
            latencies.append(time.perf_counter() - start)
            if answers[index] is None or answers[index][0] != 200:
                errors[0] += 1
        if connection is not None:
            connection[1].close()

    start = time.perf_counter()
    # the whole load is bounded too: a server that stops answering cannot hold the benchmark
    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(clients))),
                           timeout * 2 + 2 * len(requests))
    return {"latencies": latencies, "answers": answers, "errors": errors[0], "wall_s": time.perf_counter() - start}


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User and system CPU time of a process (or of one of its threads) so far (Linux /proc; 0 where it is
    not readable)."""
    where = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        fields = Path(where).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


class Server:
    """``main.py --checkpoint RUN --serve`` on a free loopback port, as a user starts it."""

    def __init__(self, run: Path, extra: list[str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "--checkpoint", str(run), "--serve",
                                      "--port", str(self.port), *extra], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def wait(self, deadline: float) -> None:
        while True:
            if self.proc.poll() is not None:
                raise UserError(f"the server ended: {self.proc.communicate()[1].strip()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise UserError("the server did not answer /health within 180 s")
            time.sleep(0.2)

    def health(self) -> dict:
        return httpx.get(self.url + "/health", timeout=5).json()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


def measure(run: Path, configs: dict[str, list[str]], args, bodies: list[str], warmup: list[str]) -> dict:
    """Every configuration's server, started at once and kept up, then measured in ``args.rounds``
    alternating rounds (A B, B A, A B, ...), each round a share of ``bodies``: on a machine whose other
    load comes and goes, each server then sees about the same machine, as one after the other would not."""
    servers = {name: Server(run, extra) for name, extra in configs.items()}
    try:
        deadline = time.monotonic() + 180
        for server in servers.values():
            server.wait(deadline)
        for server in servers.values():
            asyncio.run(run_load(server.port, [request_bytes(server.port, t) for t in warmup], args.clients,
                                 args.timeout))
        requests = {name: [request_bytes(s.port, t) for t in bodies] for name, s in servers.items()}
        totals = {name: {"latencies": [], "answers": [], "errors": 0, "wall_s": 0.0, "server_cpu": 0.0,
                         "loop_cpu": 0.0, "client_cpu": 0.0, "health": s.health()} for name, s in servers.items()}
        size = -(-len(bodies) // args.rounds)
        for k, at in enumerate(range(0, len(bodies), size)):
            for name in (list(servers) if k % 2 == 0 else list(servers)[::-1]):
                pid, total = servers[name].proc.pid, totals[name]
                # the server's main thread is uvicorn's event loop (HTTP, JSON); its other threads are the
                # batcher's worker (tokens and the model) and any of torch's
                server_cpu, loop_cpu, client_cpu = cpu_seconds(pid), cpu_seconds(pid, pid), own_cpu_seconds()
                part = asyncio.run(run_load(servers[name].port, requests[name][at:at + size], args.clients,
                                            args.timeout))
                total["server_cpu"] += cpu_seconds(pid) - server_cpu
                total["loop_cpu"] += cpu_seconds(pid, pid) - loop_cpu
                total["client_cpu"] += own_cpu_seconds() - client_cpu
                for key in ("latencies", "answers"):
                    total[key] += part[key]
                total["errors"] += part["errors"]
                total["wall_s"] += part["wall_s"]
        results = {}
        for name, total in totals.items():
            before, after = total["health"], servers[name].health()
            batches = after["batches"] - before["batches"]
            results[name] = summary(total, len(bodies),
                                    (after["requests"] - before["requests"]) / batches if batches else 0.0)
        return results
    finally:
        for server in servers.values():
            server.close()


def summary(total: dict, n: int, mean_batch: float) -> dict:
    latencies = sorted(total["latencies"])

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    # where the CPU goes, per request: the server (HTTP, JSON and the model) and this load generator
    return {"requests": n, "errors": total["errors"], "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "rps": n / total["wall_s"], "answers": total["answers"], "mean_batch": mean_batch,
            "server_cpu_ms": total["server_cpu"] / n * 1000, "loop_cpu_ms": total["loop_cpu"] / n * 1000,
            "client_cpu_ms": total["client_cpu"] / n * 1000}


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def labels(result: dict) -> list:
    return [json.loads(a[1])["label"] if a is not None and a[0] == 200 else None for a in result["answers"]]


def close(a, b) -> bool:
    """Equal, probabilities within a rounding step (a text alone and in a padded batch differ by ~1e-7)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, (int, float)):
        return abs(a - b) <= 1e-4 + 1e-6 * abs(b)
    return a == b


def checked_against_predict(run: Path, bodies: list[str], results: dict) -> int:
    """How many of the first CHECKED answers of every server equal ``--predict``'s (via suite.api, as the CLI)."""
    from suite import api

    model = api.load(run)
    good = 0
    for text, *served in zip(bodies[:CHECKED], *(r["answers"][:CHECKED] for r in results.values())):
        want = model.predict(text)
        good += all(a is not None and a[0] == 200 and close(json.loads(a[1]), want) for a in served)
    return good


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a trained sentiment run (default: train a small one on the workload's data)")
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="imdb",
                        help="imdb: IMDB test reviews (default); rt_polarity: its one-line sentences")
    parser.add_argument("--data-root", help="where sentiment/imdb and sentiment/rt_polarity are (default "
                                            "$RNN_SUITE_DATA or ../shared/data)")
    parser.add_argument("--limit", type=int, default=2000, help="texts to train the small run on")
    parser.add_argument("--requests", type=int, default=2000, help="requests in all, per server")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--warmup", type=int, default=100, help="requests per server before timing")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a request may take")
    parser.add_argument("--threads", type=int, default=1,
                        help="both servers' torch CPU threads (default 1; 0: torch's default, one per core)")
    parser.add_argument("--max-batch", type=int, default=32, help="the batched server's --max-batch (default 32)")
    parser.add_argument("--batch-wait-ms", type=float, default=5.0, help="both servers' --batch-wait-ms (default 5)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds the requests are split into")
    args = parser.parse_args()
    if not (1 <= args.requests <= 100_000 and 1 <= args.clients <= 256):
        raise UserError("--requests 1..100000 and --clients 1..256")
    if not (0 <= args.warmup <= 10_000 and 0 < args.timeout <= 600 and args.limit >= 20 and args.threads >= 0):
        raise UserError("--warmup 0..10000, --timeout above 0 and at most 600 s, --limit at least 20, --threads >= 0")
    if not (2 <= args.max_batch <= 256 and 0 <= args.batch_wait_ms <= 1000 and 1 <= args.rounds <= args.requests):
        raise UserError("--max-batch 2..256, --batch-wait-ms 0..1000 and --rounds 1..--requests")
    if args.run and not Path(args.run).exists():
        raise UserError(f"--run {args.run}: not found")
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        started = time.perf_counter()
        run, texts = WORKLOADS[args.workload](Path(tmp), data_root(args.data_root), args.limit,
                                              Path(args.run) if args.run else None, args.requests + args.warmup)
        if not args.run:
            print(f"trained {args.workload} run in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        bodies, warmup = texts[:args.requests], texts[args.requests:]
        # the same server and settings; the unbatched one differs by --max-batch 1 alone
        same = ["--batch-wait-ms", f"{args.batch_wait_ms:g}"]
        same += ["--threads", str(args.threads)] if args.threads else []
        configs = {f"batched (--max-batch {args.max_batch}, {args.batch_wait_ms:g} ms)":
                   [*same, "--max-batch", str(args.max_batch)],
                   "single (--max-batch 1)": [*same, "--max-batch", "1"]}
        load_before = load_average()
        results = measure(run, configs, args, bodies, warmup)
        load_after = load_average()
        good = checked_against_predict(run, bodies, results)
    words = sum(len(t.split()) for t in bodies) / len(bodies)
    print(f"workload {args.workload}: {args.requests} texts of {words:.0f} words on average; {args.clients} "
          f"clients, {args.requests} requests per server in {args.rounds} alternating rounds, loopback, "
          f"{os.cpu_count()} CPUs, torch threads {args.threads or 'default'}; load average {load_before} before, "
          f"{load_after} after")
    for name, r in results.items():
        print(f"{name:<32} errors {r['errors']}  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
              f"{r['rps']:7.1f} req/s  mean batch {r['mean_batch']:.1f}  CPU per request: server "
              f"{r['server_cpu_ms']:.2f} ms (event loop {r['loop_cpu_ms']:.2f}, model thread "
              f"{r['server_cpu_ms'] - r['loop_cpu_ms']:.2f}), load generator {r['client_cpu_ms']:.2f} ms")
    batched, single = results.values()
    agree = sum(a == b and a is not None for a, b in zip(labels(batched), labels(single)))
    ratio = batched["rps"] / single["rps"]
    errors = batched["errors"] + single["errors"]
    print(f"throughput ratio {ratio:.2f}x (target >= 3x); labels agree between the servers on {agree} of "
          f"{args.requests}; {good} of {min(CHECKED, args.requests)} answers equal --predict's on both")
    print(f"batched_rps={batched['rps']:.1f} single_rps={single['rps']:.1f} ratio={ratio:.2f} errors={errors} "
          f"workload={args.workload}")
    return 0 if errors == 0 and good == min(CHECKED, args.requests) else 1


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))
