#!/usr/bin/env bash
# `make bench`: every benchmark, then docs/benchmarks.md from their figures.
#  1. micro-benchmarks of the per-request CPU work (criterion, shared/benches/micro.rs);
#  2. side by side in one run: LiveKit token minting (voicegate vs LiveKit's Python and
#     Node SDKs) and a cold /connection-details (voicegate's release binary vs a Python and
#     a Node handler doing the same work, under the Lambda Runtime API stand-in);
#  3. latency of the hot paths through the local server (tests/benches/api.rs);
#  4. package: each function's zipped arm64 bootstrap (when `make build` made them) and
#     the crate count.
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

echo "== side by side: LiveKit tokens, cold starts (release build of connection-details)"
cargo build -q --release -p connection-details
cargo bench -q -p voicegate-tests --bench side_by_side

echo "== latency through the local server"
{
  echo "## Latency through the local API (\`tests/benches/api.rs\`, against the emulator)"
  echo
  echo '```'
  cargo bench -q -p voicegate-tests --bench api | tee /dev/stderr
  echo '```'
} > "$report/latency.md"

cp tests/bench/round_trips.md "$report/round_trips.md"

{
  echo "## Package"
  echo
  echo "Crates in the dependency tree of a function (\`cargo tree\`, normal dependencies):"
  echo "$(cargo tree -q -p connection-details -e normal --prefix none | sed 's/ (\*)//' | sort -u | wc -l)."
  echo
  if ls target/lambda/*/bootstrap >/dev/null 2>&1; then
    echo "| function | \`bootstrap\` (arm64) | zipped |"
    echo "|---|---|---|"
    for f in target/lambda/*/bootstrap; do
      name=$(basename "$(dirname "$f")")
      python3 - "$f" "$name" <<'PY'
import io, os, sys, zipfile
path, name = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(path, "bootstrap")
print(f"| `{name}` | {os.path.getsize(path) / 2**20:.1f} MiB | {len(buf.getvalue()) / 2**20:.1f} MiB |")
PY
    done
  else
    echo "(no arm64 artifacts: run \`make build\` first for the per-function sizes)"
  fi
} > "$report/package.md"

python3 scripts/bench_report.py
