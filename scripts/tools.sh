#!/usr/bin/env bash
# Installs the project's tools into .tools/ (idempotent; reinstalls only when a
# pinned requirements file changes). Needs only python3 (3.11+) and npm.
#   .tools/moto     moto server, the local AWS emulator (DynamoDB, SNS, Secrets Manager)
#   .tools/lint     cfn-lint and SAM's translator (aws-sam-translator) for template.yaml
#   .tools/checkov  checkov, the IaC security scan
#   .tools/livekit  LiveKit's Python SDK for cross-checking tokens in tests
#   .tools/schemathesis  schemathesis, run against the local API by `make test`
#   tests/livekit/node_modules  LiveKit's Node SDKs (server SDK, client TokenSource)
#   .tools/bench-python, tests/bench/node/node_modules  the Python and Node handlers
#                   `make bench` compares with                        (only when asked for)
#   .tools/lambda   cargo-lambda (with zig) for arm64 Lambda builds   (only when asked for)
#   .tools/sam      AWS SAM CLI                                       (only when asked for)
# Usage: scripts/tools.sh [moto] [lint] [checkov] [livekit] [schemathesis] [node] [bench] [lambda] [sam]
#        (no argument: what `make test` needs)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tools

venv() { # name requirements-file
  local dir=".tools/$1" req="$2"
  local stamp="$dir/.installed-$(sha256sum "$req" | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  echo "tools: installing $1 from $req" >&2
  rm -rf "$dir"
  python3 -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
}

node_deps() { # directory with a package-lock.json
  local dir="$1"
  local stamp="$dir/node_modules/.installed-$(sha256sum "$dir/package-lock.json" | cut -c1-16)"
  [ -f "$stamp" ] && return 0
  echo "tools: installing the Node packages of $dir" >&2
  (cd "$dir" && npm ci --silent --no-audit --no-fund --loglevel=error)
  touch "$stamp"
}

want=("$@")
[ ${#want[@]} -eq 0 ] && want=(moto lint checkov livekit schemathesis node)
for t in "${want[@]}"; do
  case "$t" in
    moto) venv moto infra/tools/moto-requirements.txt ;;
    lint) venv lint infra/tools/lint-requirements.txt ;;
    checkov) venv checkov infra/tools/checkov-requirements.txt ;;
    livekit) venv livekit tests/livekit/requirements.txt ;;
    schemathesis) venv schemathesis infra/tools/schemathesis-requirements.txt ;;
    node) node_deps tests/livekit ;;
    bench) venv bench-python tests/bench/python/requirements.txt; node_deps tests/bench/node ;;
    lambda) venv lambda infra/tools/lambda-requirements.txt ;;
    sam) venv sam infra/tools/sam-requirements.txt ;;
    *) echo "tools: unknown tool $t" >&2; exit 2 ;;
  esac
done
