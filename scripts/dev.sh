#!/usr/bin/env bash
# `make dev`: the whole API on http://127.0.0.1:${API_PORT:-3000}, backed by the
# moto emulator on 127.0.0.1:${LOCAL_AWS_PORT:-4566} (reused if one answers there).
# Ctrl-C stops the API and the emulator this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/tools.sh moto
EMULATOR_PORT="${LOCAL_AWS_PORT:-4566}"
. scripts/emulator_session.sh
cargo build --quiet -p voicegate-local
LOCAL_AWS_PORT="$EMULATOR_PORT" "${CARGO_TARGET_DIR:-target}/debug/voicegate-local"
