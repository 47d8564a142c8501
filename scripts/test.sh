#!/usr/bin/env bash
# `make test`: installs the tools, starts a private emulator on a free loopback
# port, runs fmt, clippy, cfn-lint, checkov, every test and schemathesis against the
# running local API, and stops the emulator again whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/tools.sh
. scripts/emulator_session.sh
port="$EMULATOR_PORT"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cfn-lint template.yaml"
.tools/lint/bin/cfn-lint template.yaml
echo "== checkov: template.yaml and its SAM translation"
scripts/iac_scan.sh
echo "== the emulator's patches change none of moto's answers"
.tools/moto/bin/python infra/tools/moto_server_check.py
echo "== cargo build (function binaries, run as Lambda by the tests)"
cargo build --workspace --bins --quiet
echo "== cargo test"
log=".local/test-$port.log"
set +e
cargo test --workspace --no-fail-fast -- --test-threads "${TEST_THREADS:-8}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -eq 0 ]; then
  echo "== schemathesis against the local API (docs/openapi.yaml)"
  scripts/schemathesis.sh "$port" || status=$?
fi
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
