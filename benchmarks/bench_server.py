"""`ikg serve` under load: requests/s and p50/p99 of GET /users/{id}/recommendations over HTTP.

    python benchmarks/bench_server.py [--seconds 8] [--rounds 4] [--clients 1 8 32] [--workers 1]
                                      [--items 100000] [--users 20000] [--skip-demo] [--skip-large]

Two graphs: the demo catalog as `ikg demo` builds it, and a synthetic graph of `--items` items
(built as benchmarks/bench_recommend.py builds it: random 64-d vectors, category concepts).
For each, the server runs as `ikg serve` in a subprocess on 127.0.0.1; N client threads (one
httpx connection each) call it for `--seconds` per level, split into `--rounds` rounds that
interleave all levels (a shared machine's background load then weighs on every level alike).
Same-run reference: in-process
`InterestGraph.recommend` p50/p99 on the same folder, users and k, one caller, with the default
torch thread count and with one thread (as the server runs); the smaller p99 is the reference.
In-process with N caller threads is printed too (the queueing any server meets at N concurrent
calls on these cores, without the server's micro-batching).
Target: p99 at 8 clients within 3x the in-process (one caller) p99.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_recommend import make_graph, unit
from ikg import InterestGraph
from ikg.neo4j_local import free_port
from ikg.workdir import Workdir

K = 20


def percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.array(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def build_demo(folder: Path) -> None:
    """The demo catalog and users, refreshed as `ikg demo` does (real spaCy, MiniLM and GNN)."""
    from ikg.demo_data import load_catalog, make_demo_events

    with InterestGraph.open(folder) as ig:
        ig.ingest_items(load_catalog())
        ig.ingest_events(make_demo_events())
        ig.refresh(progress=False)


def build_large(folder: Path, n_items: int, n_users: int) -> None:
    """A served version over the synthetic graph: store under folder/graph, vectors in the state."""
    rng = np.random.default_rng(1)
    store = make_graph(n_items, n_users, 10, path=folder / "graph")
    store.flush()
    snapshot = store.snapshot()
    users, items = snapshot.node_keys("User"), snapshot.node_keys("Item")
    arrays = {
        "gnn_User": unit(rng, len(users)),
        "gnn_User_keys": np.array(users),
        "gnn_Item": unit(rng, len(items)),
        "gnn_Item_keys": np.array(items),
    }
    workdir = Workdir(folder)
    version = "vbench000001"
    workdir.write_state(version, {}, arrays, {})
    workdir.activate({"version": version, "inbox_seq": 0, "created": time.time()})


def in_process(ig: InterestGraph, users: list[str], seconds: float, callers: int) -> tuple[int, list[float]]:
    """`callers` threads calling InterestGraph.recommend for `seconds`: (calls, latencies)."""
    ig.recommend(users[0], k=K)
    return _load(lambda _: lambda user: ig.recommend(user, k=K), users, seconds, callers)


def over_http(base: str, users: list[str], seconds: float, clients: int) -> tuple[int, list[float]]:
    """`clients` threads, one connection each, calling the server for `seconds`."""

    def make_caller(_: int):
        http = httpx.Client(base_url=base, timeout=60)

        def call(user: str) -> None:
            got = http.get(f"/users/{user}/recommendations", params={"k": K})
            if got.status_code != 200:
                raise RuntimeError(f"HTTP {got.status_code}: {got.text[:200]}")

        return call

    return _load(make_caller, users, seconds, clients)


def _load(make_caller, users: list[str], seconds: float, n: int) -> tuple[int, list[float]]:
    times: list[list[float]] = [[] for _ in range(n)]
    errors: list[str] = []
    deadline = [0.0]

    def set_deadline() -> None:  # after every caller's warm-up call, so each level runs `seconds`
        deadline[0] = time.perf_counter() + seconds

    start_line = threading.Barrier(n, action=set_deadline)

    def run(slot: int) -> None:
        call = make_caller(slot)
        call(users[slot % len(users)])
        start_line.wait()
        i = slot
        while time.perf_counter() < deadline[0]:
            user = users[i % len(users)]
            t = time.perf_counter()
            try:
                call(user)
            except Exception as err:
                errors.append(repr(err))
                return
            times[slot].append(time.perf_counter() - t)
            i += n

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} failed calls, first: {errors[0]}")
    flat = [x for slot in times for x in slot]
    return len(flat), flat


def start_server(folder: Path, workers: int) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = folder.parent / f"server-{port}.log"
    command = [sys.executable, "-m", "ikg.cli", "--path", str(folder), "serve", "--host", "127.0.0.1"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*command, "--port", str(port), "--workers", str(workers)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return proc, base, log
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"server not ready after 600 s:\n{log.read_text()}")


def bench(name: str, folder: Path, args: argparse.Namespace) -> None:
    """All load levels of one graph, interleaved in `--rounds` rounds (pooled percentiles).

    The machine may be shared: a background job that speeds up or slows down during the run then
    weighs on the reference and on the HTTP levels alike, instead of on whichever ran at that time.
    """
    ig = InterestGraph.open(folder)
    known = list(ig.model().index.users)
    rng = np.random.default_rng(5)
    users = [known[i] for i in rng.choice(len(known), size=min(500, len(known)), replace=False)]
    proc, base, _ = start_server(folder, args.workers)
    default_threads = torch.get_num_threads()
    levels: list[tuple[str, int, int]] = [("in-process", 1, t) for t in dict.fromkeys([default_threads, 1])]
    levels += [("in-process", n, default_threads) for n in args.clients]
    levels += [("HTTP", n, 0) for n in args.clients]
    levels = list(dict.fromkeys(levels))
    measured: dict[tuple[str, int, int], list[float]] = {level: [] for level in levels}
    slice_seconds = args.seconds / args.rounds
    try:
        print(
            f"\n== {name}: {folder} ({len(known)} users), k={K}, {args.seconds:.0f} s per level "
            f"in {args.rounds} interleaved rounds"
        )
        for _ in range(args.rounds):
            for level in levels:
                kind, n, threads = level
                if kind == "HTTP":
                    measured[level] += over_http(base, users, slice_seconds, n)[1]
                    continue
                torch.set_num_threads(threads)
                measured[level] += in_process(ig, users, slice_seconds, n)[1]
                torch.set_num_threads(default_threads)
        refs = []
        for (kind, n, threads), times in measured.items():
            p50, p99 = percentiles(times)
            rate = len(times) / args.seconds
            if kind == "in-process" and n == 1:
                refs.append(p99)
                print(
                    f"in-process recommend,  1 caller:  {rate:8.1f} calls/s  p50 {p50:7.2f} ms  "
                    f"p99 {p99:7.2f} ms   (torch threads: {threads})"
                )
        ref99 = min(refs)
        print(f"reference: the smaller 1-caller p99, {ref99:.2f} ms")
        for (kind, n, _), times in measured.items():
            p50, p99 = percentiles(times)
            rate = len(times) / args.seconds
            if kind == "in-process" and (n, _) not in {(1, t) for t in (default_threads, 1)}:
                print(
                    f"in-process recommend, {n:2d} callers: {rate:8.1f} calls/s  "
                    f"p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  p99 / reference = {p99 / ref99:5.2f}x"
                )
            elif kind == "HTTP":
                verdict = f"  target p99 <= 3x: {'met' if p99 <= 3 * ref99 else 'NOT met'}" if n == 8 else ""
                print(
                    f"HTTP GET recommendations, {n:2d} clients ({args.workers} worker): "
                    f"{rate:8.1f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  "
                    f"p99 / reference = {p99 / ref99:5.2f}x{verdict}"
                )
    finally:
        ig.close()
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each load level")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the levels are split into")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--workers", type=int, default=1, help="ikg serve --workers")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument(
        "--demo-path", type=Path, default=None, help="serve this demo folder instead of building one"
    )
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="ikg-bench-server-") as tmp:
        if not args.skip_demo:
            demo = args.demo_path
            if demo is None:
                demo = Path(tmp) / "demo" / "data"
                t = time.perf_counter()
                build_demo(demo)
                print(f"demo graph built in {time.perf_counter() - t:.0f} s")
            bench("demo catalog", demo, args)
        if not args.skip_large:
            large = Path(tmp) / "large" / "data"
            t = time.perf_counter()
            build_large(large, args.items, args.users)
            print(
                f"\nsynthetic graph ({args.items} items, {args.users} users) built in {time.perf_counter() - t:.0f} s"
            )
            bench(f"synthetic {args.items} items", large, args)


if __name__ == "__main__":
    main()
