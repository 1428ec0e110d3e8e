"""python -m bench [--quick] [--only indexing query evidence store generation serving api mcp load]"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from . import ROOT, api, evidence, generation, indexing, load, mcp, query, serving, store

SECTIONS = {"indexing": indexing, "query": query, "evidence": evidence, "store": store, "generation": generation,
            "serving": serving, "api": api, "mcp": mcp, "load": load}


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="tiny inputs: checks that the benchmark runs")
    ap.add_argument("--only", nargs="+", choices=list(SECTIONS), default=list(SECTIONS))
    ap.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    args = ap.parse_args()
    full = dict(docs=300, repeats=3, queries=100, sizes=[5_000, 50_000, 500_000], questions=10, server_questions=50)
    quick = dict(docs=20, repeats=1, queries=5, sizes=[200, 1_000], questions=2, server_questions=3)
    for k, v in (quick if args.quick else full).items():
        setattr(args, k, v)
    if {"query", "store"} & set(args.only) and "indexing" not in args.only:
        args.only.insert(0, "indexing")  # the query and store sizes grow from the indexed chunks
    shared: dict = {}
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}  # --only replaces its sections
    if results.get("quick", args.quick) != args.quick:
        results = {}
    results.update({"machine": {"cpu": _cpu(), "cores": _cores(), "python": platform.python_version()},
                    "quick": args.quick})
    for name in args.only:
        t = time.perf_counter()
        results[name] = SECTIONS[name].run(args, shared)
        results[name]["bench_seconds"] = time.perf_counter() - t
        results[name]["date"] = time.strftime("%Y-%m-%d %H:%M")
        print(f"[bench] {name} done in {results[name]['bench_seconds']:.0f} s", flush=True)
    out.write_text(json.dumps(results, indent=1, default=float))
    print(f"\n{results['machine']['cpu']}, {results['machine']['cores']} cores\n")
    print("| what | measured | beside | run |\n| --- | --- | --- | --- |")
    for name, module in SECTIONS.items():
        for row in module.table(results[name]) if name in results else []:
            print("| " + " | ".join(row) + f" | {results[name]['date']} |")
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
