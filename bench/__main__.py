"""python -m bench [--quick] [--only indexing query generation serving]"""

from __future__ import annotations

import argparse
import json
import platform
import time

from . import ROOT, generation, indexing, query, serving

SECTIONS = {"indexing": indexing, "query": query, "generation": generation, "serving": serving}


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny inputs: checks that the benchmark runs")
    ap.add_argument("--only", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    args = ap.parse_args()
    full = dict(docs=600, repeats=3, queries=100, sizes=[5_000, 50_000, 500_000], questions=10, server_questions=50)
    quick = dict(docs=20, repeats=1, queries=5, sizes=[200, 1_000], questions=2, server_questions=3)
    for k, v in (quick if args.quick else full).items():
        setattr(args, k, v)
    if "query" in args.only and "indexing" not in args.only:
        args.only.insert(0, "indexing")  # the query sizes grow from the indexed chunks
    shared: dict = {}
    results = {"machine": {"cpu": _cpu(), "cores": _cores(), "python": platform.python_version()},
               "date": time.strftime("%Y-%m-%d %H:%M"), "quick": args.quick}
    rows = []
    for name in args.only:
        t = time.perf_counter()
        results[name] = SECTIONS[name].run(args, shared)
        results[name]["bench_seconds"] = time.perf_counter() - t
        rows += SECTIONS[name].table(results[name])
        print(f"[bench] {name} done in {results[name]['bench_seconds']:.0f} s", flush=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1, default=float)
    print(f"\n{results['machine']['cpu']}, {results['machine']['cores']} cores; {results['date']}\n")
    print("| what | measured | beside |\n| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nwritten to {args.out}")


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


if __name__ == "__main__":
    main()
