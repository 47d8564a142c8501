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


def zipped_mib(path):
    import io
    import zipfile
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    return len(buf.getvalue()) / 2**20


def targets():
    """The performance targets, each against this run's figure."""
    def load(name):
        f = report / name
        return json.loads(f.read_text()) if f.exists() else {}
    side, funcs = load("side_by_side.json"), load("functions.json")
    arm = sorted((root / "target" / "lambda").glob("*/bootstrap"))
    x86 = [root / "target" / "release" / d.name for d in sorted((root / "functions").iterdir())]
    x86 = [p for p in x86 if p.exists()]
    bins, which = (arm, "arm64 `bootstrap`") if arm else (x86, "x86_64 release binary (no arm64 build)")
    largest = max(((zipped_mib(p), p.parent.name if arm else p.name) for p in bins), default=None)
    rows = []

    def row(what, target, value, ok, unit=""):
        if value is None:
            rows.append(f"| {what} | {target} | not measured | |")
        else:
            rows.append(f"| {what} | {target} | {value}{unit} | {'met' if ok else '**not met**'} |")

    r = side.get("cold_first_response_vs_python")
    row("cold first response vs the Python handler", "≥ 25× faster", r and f"{r:.1f}×", r and r >= 25)
    r = side.get("cold_first_response_vs_node")
    row("cold first response vs the Node handler", "≥ 10× faster", r and f"{r:.1f}×", r and r >= 10)
    r = funcs.get("slowest_ready_without_aws_ms")
    row("ready, without AWS round trips (slowest function)", "< 8 ms",
        r is not None and f"{r:.1f} ms (`{funcs.get('slowest_ready_function')}`)", r is not None and r < 8)
    r = side.get("warm_cpu_ms")
    row("warm CPU per `/connection-details`", "< 1 ms", r is not None and f"{r:.2f} ms", r is not None and r < 1)
    row(f"largest zipped {which}", "< 3 MiB", largest and f"{largest[0]:.2f} MiB (`{largest[1]}`)",
        largest and largest[0] < 3)
    rows.append("| AWS round trips per endpoint | the fewest its invariants allow | held per endpoint by the test "
                "`round_trips::every_endpoint_makes_the_fewest_aws_round_trips_its_invariants_allow` "
                "(`make test`) | see *AWS calls per endpoint* |")
    r = funcs.get("peak_rss_mib")
    row("peak memory (largest function)", "< 32 MiB",
        r is not None and f"{r:.1f} MiB (`{funcs.get('peak_rss_function')}`)", r is not None and r < 32)
    return ["## Targets", "", "Issue 12's targets, each against this run's figure (the sections below say how "
            "each is measured).", "", "| target | wanted | this run | |", "|---|---|---|---|", *rows, ""]


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
        "  It keeps connections alive, as AWS's endpoints do (infra/tools/moto_server.py): a",
        "  warm caller pays no TCP handshake per call, a cold one pays it once per connection.",
        "  It also skips work moto repeats on every request (the same file says which; its",
        "  answers are unchanged), since every figure below that includes AWS waits on it.",
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
    out += targets()
    for part in ["limits.md", "side_by_side.md", "functions.md", "round_trips.md", "latency.md", "load.md", "package.md"]:
        f = report / part
        if f.exists():
            out.append(f.read_text().rstrip())
            out.append("")
    (root / "docs" / "benchmarks.md").write_text("\n".join(out) + "\n")
    print("bench: wrote docs/benchmarks.md", file=sys.stderr)


if __name__ == "__main__":
    main()
