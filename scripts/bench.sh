#!/usr/bin/env bash
# `make bench`: latency of the hot paths (release build) against a private emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh moto
port=$(scripts/emulator.sh free-port)
pidfile=".local/bench-moto-$port.pid"
mkdir -p .local
trap 'scripts/emulator.sh down "$pidfile"' EXIT INT TERM
scripts/emulator.sh up "$port" "$pidfile"
VOICEGATE_TEST_AWS_ENDPOINT="http://127.0.0.1:$port" cargo bench -p voicegate-tests --bench api
