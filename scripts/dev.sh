#!/usr/bin/env bash
# `make dev`: the whole API on http://127.0.0.1:${API_PORT:-3000}, backed by the
# moto emulator on 127.0.0.1:${LOCAL_AWS_PORT:-4566} (reused if one answers there).
# Ctrl-C stops the API and the emulator this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

aws_port="${LOCAL_AWS_PORT:-4566}"
pidfile=".local/dev-moto-$aws_port.pid"
mkdir -p .local
scripts/tools.sh moto
trap 'scripts/emulator.sh down "$pidfile"' EXIT INT TERM
scripts/emulator.sh up "$aws_port" "$pidfile"
cargo build --quiet -p voicegate-local
LOCAL_AWS_PORT="$aws_port" ./target/debug/voicegate-local
