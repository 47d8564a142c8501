#!/usr/bin/env python3
"""Writes docs/benchmarks.md from what `make bench` measured: criterion's
estimates (target/criterion), the side-by-side and latency reports
(target/bench-report), and the package sizes. Standard library only."""
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
report = root / "target" / "bench-report"


def sh(*cmd):
    try:
        return subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def human(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def criterion_rows():
    rows = []
    for bench in sorted((root / "target" / "criterion").glob("**/new/benchmark.json")):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        rows.append((meta["full_id"], est["median"]["point_estimate"], est["median"]["confidence_interval"]))
    return rows


def main():
    out = ["# Benchmarks", ""]
    out += [
        "Written by `make bench` (`scripts/bench.sh`); rerun it to reproduce every figure. Numbers",
        "from one machine are comparable with each other, not with another machine's.",
        "",
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
        f"- commit: `{sh('git', 'rev-parse', '--short', 'HEAD')}`{' (with uncommitted changes)' if sh('git', 'status', '--porcelain') not in ('', '?') else ''}",
        f"- machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()} {platform.machine()}",
        f"- toolchain: {sh('rustc', '--version')}; {sh('node', '--version')}; Python {platform.python_version()}",
        "- AWS: the local emulator (moto) on 127.0.0.1, not DynamoDB: round-trip figures include",
        "  its answer times, which are slower than DynamoDB's in-region single-digit milliseconds.",
        "",
        "## Micro-benchmarks (criterion, `cargo bench -p voicegate --bench micro`)",
        "",
        "The CPU work of one request, on the inputs the endpoints see (shared/benches/micro.rs).",
        "",
        "| what | median | 95% interval |",
        "|---|---|---|",
    ]
    for name, median, ci in criterion_rows():
        out.append(f"| {name} | {human(median)} | {human(ci['lower_bound'])} – {human(ci['upper_bound'])} |")
    out.append("")
    for part in ["side_by_side.md", "round_trips.md", "latency.md", "package.md"]:
        f = report / part
        if f.exists():
            out.append(f.read_text().rstrip())
            out.append("")
    (root / "docs" / "benchmarks.md").write_text("\n".join(out) + "\n")
    print("bench: wrote docs/benchmarks.md", file=sys.stderr)


if __name__ == "__main__":
    main()
