#!/usr/bin/env bash
# `make bench`: latency of the hot paths (release build) against a private emulator.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh moto
. scripts/emulator_session.sh
cargo bench -p voicegate-tests --bench api
