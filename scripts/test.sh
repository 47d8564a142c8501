#!/usr/bin/env bash
# `make test`: installs the tools, starts a private emulator on a free loopback
# port, runs fmt, clippy, every test and cfn-lint, and stops the emulator
# again whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/tools.sh
port=$(scripts/emulator.sh free-port)
pidfile=".local/test-moto-$port.pid"
mkdir -p .local
trap 'scripts/emulator.sh down "$pidfile"' EXIT INT TERM
scripts/emulator.sh up "$port" "$pidfile"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
echo "== cfn-lint template.yaml"
.tools/lint/bin/cfn-lint template.yaml
echo "== cargo test"
VOICEGATE_TEST_AWS_ENDPOINT="http://127.0.0.1:$port" \
  cargo test --workspace --no-fail-fast -- --test-threads "${TEST_THREADS:-8}"
