#!/usr/bin/env bash
# Runs schemathesis against the local API (built, started here on a free port,
# backed by the emulator on port $1), signed in as the demo user John: every
# operation of docs/openapi.yaml, generated and mutated inputs, a bounded
# number of examples, a fixed seed. Fails on any 5xx or any answer the
# document does not describe. Used by `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
aws_port="$1"
api_port=$(scripts/emulator.sh free-port)
log=".local/schemathesis-api-$api_port.log"
TABLE_NAME="schemathesis-$api_port" APP_SECRET_ID="schemathesis-$api_port/app" \
  LIVEKIT_SECRET_ID="schemathesis-$api_port/livekit" RUST_LOG=warn \
  API_PORT="$api_port" LOCAL_AWS_PORT="$aws_port" "${CARGO_TARGET_DIR:-target}/debug/voicegate-local" >"$log" 2>&1 &
api_pid=$!
trap 'kill "$api_pid" 2>/dev/null || true' EXIT INT TERM
base="http://127.0.0.1:$api_port"
for _ in $(seq 1 100); do
  python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$base/health" 2>/dev/null && break
  kill -0 "$api_pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
token=$(python3 - "$base/auth/login" <<'PY'
import json, sys, urllib.request
body = json.dumps({"email": "john@example.com", "password": "correct-horse-battery"}).encode()
req = urllib.request.Request(sys.argv[1], body, {"content-type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=10))["access_token"])
PY
)
# Logout is left out: it would revoke the session every other bearer
# operation is exercised with. (Its answers are covered by the end-to-end tests.)
.tools/schemathesis/bin/st run "$base/openapi.json" --url "$base" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --phases examples,coverage,fuzzing --max-examples "${SCHEMATHESIS_EXAMPLES:-20}" --seed 1 \
  --exclude-path /auth/logout --no-color
