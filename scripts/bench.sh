#!/usr/bin/env bash
# `make bench`: every benchmark, then docs/benchmarks.md from their figures.
#  1. micro-benchmarks of the per-request CPU work (criterion, shared/benches/micro.rs);
#  2. side by side in one run: LiveKit token minting (voicegate vs LiveKit's Python and
#     Node SDKs) and a cold /connection-details (voicegate's release binary vs a Python and
#     a Node handler doing the same work, under the Lambda Runtime API stand-in);
#  3. every function's release binary cold, once per sample event, with the emulator's
#     share taken out (tests/benches/functions.rs);
#  4. latency of the hot paths through the local server (tests/benches/api.rs), and
#     requests per second with p50/p99 per endpoint under concurrency (tests/load);
#  5. package: each function's zipped release binary (x86_64, built here) and arm64
#     bootstrap (when `make build` made them), and the crate count per function.
# Installs what it compares with (tests/bench/) on first run. Takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh moto livekit node bench
. scripts/emulator_session.sh
report=target/bench-report
rm -rf "$report" target/criterion
mkdir -p "$report"

echo "== micro-benchmarks (criterion)"
cargo bench -q -p voicegate --bench micro -- --warm-up-time 1 --measurement-time "${BENCH_SECONDS:-3}"

functions=$(for d in functions/*/; do basename "$d"; done)
echo "== release build of every function (the deploy profile: fat LTO, one codegen unit)"
cargo build -q --release $(for f in $functions; do echo "-p $f"; done)

echo "== side by side: LiveKit tokens, cold and warm /connection-details"
cargo bench -q -p voicegate-tests --bench side_by_side

echo "== every function cold, once per sample event"
cargo bench -q -p voicegate-tests --bench functions

echo "== under load: ${BENCH_LOAD_CLIENTS:-16} clients for ${BENCH_LOAD_SECONDS:-20} s"
LOAD_CLIENTS=${BENCH_LOAD_CLIENTS:-16} LOAD_SECONDS=${BENCH_LOAD_SECONDS:-20} \
  LOAD_REPORT="$report/load.md" cargo run -q --profile bench -p voicegate-tests --bin load

echo "== latency through the local server"
# Not `tee /dev/stderr`: reopening stderr truncates it when it is redirected to a file.
cargo bench -q -p voicegate-tests --bench api > "$report/latency.txt"
cat "$report/latency.txt"
{
  echo "## Latency through the local API (\`tests/benches/api.rs\`, against the emulator)"
  echo
  echo '```'
  cat "$report/latency.txt"
  echo '```'
} > "$report/latency.md"

cp tests/bench/round_trips.md "$report/round_trips.md"
cp tests/bench/limits.md "$report/limits.md"

{
  echo "## Package"
  echo
  echo "Each function links only its own routes' handlers (a dispatcher per function,"
  echo "\`shared/src/edge/functions.rs\`). Zipped as Lambda receives it (deflate)."
  echo
  tree=$(cargo tree -q -p connection-details -e normal --prefix none | sed 's/ (\*)//' | sort -u)
  echo "Crates in a function's dependency tree (\`cargo tree\`, normal dependencies): $(echo "$tree" | wc -l),"
  echo "of which in two or more versions: $(echo "$tree" | awk '{print $1}' | uniq -d | paste -sd' ')."
  echo "Every function has the same tree; what each links differs."
  echo
  echo "| function | release binary (x86_64, here) | zipped | \`bootstrap\` (arm64, \`make build\`) | zipped |"
  echo "|---|---|---|---|---|"
  for name in $functions; do
    python3 - "$name" <<'PY'
import io, os, sys, zipfile
name = sys.argv[1]
def sizes(path):
    if not os.path.exists(path):
        return "(not built)", ""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    return f"{os.path.getsize(path) / 2**20:.1f} MiB", f"{len(buf.getvalue()) / 2**20:.2f} MiB"
x, xz = sizes(f"{os.environ.get('CARGO_TARGET_DIR', 'target')}/release/{name}")
a, az = sizes(f"target/lambda/{name}/bootstrap")
print(f"| `{name}` | {x} | {xz} | {a} | {az} |")
PY
  done
} > "$report/package.md"

python3 scripts/bench_report.py
