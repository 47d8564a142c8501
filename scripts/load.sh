#!/usr/bin/env bash
# `make load`: the mixed workload of tests/load/main.rs against a private
# emulator, in the bench profile (optimised, thin LTO). Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh moto livekit
port=$(scripts/emulator.sh free-port)
pidfile=".local/load-moto-$port.pid"
mkdir -p .local
trap 'scripts/emulator.sh down "$pidfile"' EXIT INT TERM
scripts/emulator.sh up "$port" "$pidfile"
VOICEGATE_TEST_AWS_ENDPOINT="http://127.0.0.1:$port" \
  cargo run --quiet --profile bench -p voicegate-tests --bin load
