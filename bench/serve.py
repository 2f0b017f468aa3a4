"""The server's micro-batching: loopback load on a trained sentiment run, batched against unbatched.

Two servers of the same run, one after the other, started as a user would (``main.py --checkpoint RUN
--serve``): the default micro-batching (``--max-batch 32 --batch-wait-ms 5``) and ``--max-batch 1``
(every request its own forward pass). Each gets the same load: ``--clients`` concurrent clients (16)
sending ``--requests`` single-text requests in all (2,000), each client a keep-alive connection. Printed
per server: errors (target 0), p50 and p99 latency, requests per second, the mean micro-batch, and the CPU
time per request of the server process and of this load generator (which shares the machine's cores with
the server: on a small machine its HTTP client costs about as much as the server's side); then the
throughput ratio (target >= 3x). Before timing, each server answers ``--warmup`` requests that are not
counted. ``--threads N`` starts both servers with ``--threads N`` (torch's intra-op threads).

Without ``--run``, a small sentiment run is trained first (rt_polarity under --data-root /
$RNN_SUITE_DATA, ``--limit`` texts, one epoch), in a temporary folder. Loopback only; every request and
the whole run are bounded (``--timeout`` seconds a request, a server start at most 180 s).

The last line is one comparable figure set, e.g. ``batched_rps=R single_rps=R ratio=X errors=N``.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from suite.errors import UserError, exit_on_user_error  # noqa: E402

WORDS = ("a witty warm wonderful film dull lifeless mess the plot goes nowhere utterly charming funny moving "
         "bad good fun it is neither here nor there one of the year 's best acted script ending rushed").split()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_run(where: Path, data_root: str | None, limit: int) -> Path:
    root = Path(data_root or os.environ.get("RNN_SUITE_DATA") or REPO.parent / "shared" / "data")
    data = root / "sentiment" / "rt_polarity"
    if not data.is_dir():
        raise UserError(f"{data}: not found; give --run RUN or --data-root")
    run = where / "run"
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "--task", "sentiment", "--data", str(data),
                           "--limit", str(limit), "--max-epochs", "1", "--run-dir", str(run)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise UserError(f"training the benchmark's run failed: {done.stderr.strip().splitlines()[-1]}")
    return run


def texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 30))) for _ in range(n)]


def load(url: str, bodies: list[str], clients: int, timeout: float) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    queue = list(reversed(bodies))

    def client() -> None:
        with httpx.Client(base_url=url, timeout=timeout) as c:
            while True:
                with lock:
                    if not queue:
                        return
                    text = queue.pop()
                start = time.perf_counter()
                try:
                    ok = c.post("/predict", json={"input": text}).status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - start
                with lock:
                    latencies.append(took)
                    errors[0] += not ok

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {"requests": len(latencies), "errors": errors[0], "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "rps": len(latencies) / wall, "wall_s": wall}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc; 0 where it is not readable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(run: Path, extra: list[str], args, bodies: list[str]) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, str(REPO / "main.py"), "--checkpoint", str(run), "--serve",
                             "--port", str(port), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise UserError(f"the server ended: {proc.communicate()[1].strip()}")
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise UserError("the server did not answer /health within 180 s")
            time.sleep(0.2)
        load(url, texts(args.warmup, seed=1), args.clients, args.timeout)
        server_cpu, client_cpu = cpu_seconds(proc.pid), resource.getrusage(resource.RUSAGE_SELF)
        result = load(url, bodies, args.clients, args.timeout)
        after = resource.getrusage(resource.RUSAGE_SELF)
        # where the CPU goes, per request: the server (HTTP, JSON and the model) and this load generator
        result["server_cpu_ms"] = (cpu_seconds(proc.pid) - server_cpu) / len(bodies) * 1000
        result["client_cpu_ms"] = (after.ru_utime + after.ru_stime - client_cpu.ru_utime - client_cpu.ru_stime) \
            / len(bodies) * 1000
        health = httpx.get(url + "/health", timeout=5).json()
        result["mean_batch"] = (health["requests"] / health["batches"]) if health["batches"] else 0.0
        return result
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", help="a trained sentiment run (default: train a small one)")
    parser.add_argument("--data-root", help="where sentiment/rt_polarity is (default $RNN_SUITE_DATA or ../shared/data)")
    parser.add_argument("--limit", type=int, default=2000, help="texts to train the small run on")
    parser.add_argument("--requests", type=int, default=2000, help="requests in all, per server")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--warmup", type=int, default=100, help="requests per server before timing")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds a request may take")
    parser.add_argument("--threads", type=int, default=0, help="the servers' torch CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.requests < 1 or args.clients < 1 or args.requests > 100_000 or args.clients > 256:
        raise UserError("--requests 1..100000 and --clients 1..256")
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.run) if args.run else train_run(Path(tmp), args.data_root, args.limit)
        bodies = texts(args.requests)
        threads = ["--threads", str(args.threads)] if args.threads else []
        results = {"batched (--max-batch 32, 5 ms)": measure(run, threads, args, bodies),
                   "single (--max-batch 1)": measure(run, [*threads, "--max-batch", "1"], args, bodies)}
    print(f"{args.clients} clients, {args.requests} requests per server, loopback, {os.cpu_count()} CPUs")
    for name, r in results.items():
        print(f"{name:<32} errors {r['errors']}  p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  "
              f"{r['rps']:7.1f} req/s  mean batch {r['mean_batch']:.1f}  CPU per request: server "
              f"{r['server_cpu_ms']:.2f} ms, load generator {r['client_cpu_ms']:.2f} ms")
    batched, single = results.values()
    ratio = batched["rps"] / single["rps"]
    print(f"throughput ratio {ratio:.2f}x (target >= 3x)")
    print(f"batched_rps={batched['rps']:.1f} single_rps={single['rps']:.1f} ratio={ratio:.2f} "
          f"errors={batched['errors'] + single['errors']}")
    return 0 if batched["errors"] + single["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(exit_on_user_error(main))
