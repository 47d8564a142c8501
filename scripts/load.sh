#!/usr/bin/env bash
# `make load`: the mixed workload of tests/load/main.rs against a private
# emulator, in the bench profile (optimised, thin LTO). Not part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh moto livekit
. scripts/emulator_session.sh
cargo run --quiet --profile bench -p voicegate-tests --bin load
