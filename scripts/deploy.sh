#!/usr/bin/env bash
# `make deploy LIVEKIT_URL=wss://...`: build every function once, then `sam deploy` with
# samconfig.toml (non-interactive). Extra `sam deploy` arguments: DEPLOY_ARGS="...".
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LIVEKIT_URL:?set LIVEKIT_URL, e.g. make deploy LIVEKIT_URL=wss://my-project.livekit.cloud}"
scripts/lambdas.sh
scripts/tools.sh sam
# shellcheck disable=SC2086
.tools/sam/bin/sam deploy --parameter-overrides "LiveKitUrl=$LIVEKIT_URL ${PARAMETERS:-}" ${DEPLOY_ARGS:-}
