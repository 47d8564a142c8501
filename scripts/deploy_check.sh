#!/usr/bin/env bash
# `make deploy-check`: the deploy rehearsal (minutes; not part of `make test`).
#  1. builds the arm64 artifacts exactly as `make deploy` does (`make build`);
#  2. validates template.yaml (`sam validate --lint`, cfn-lint), scans it and its SAM
#     translation with checkov, and runs the template tests against SAM's own translation
#     (CORS intact, the routes of the Route enum and nothing else, per-function IAM equal to
#     what the routes declare, no wildcard actions, nothing Retain that can block a create);
#  3. runs every function's arm64 bootstrap under qemu-aarch64 against the Lambda Runtime API
#     stand-in and the local emulator, feeding it its sample events from events/ and checking
#     each answer: the proof that what we ship answers.
# Installs qemu-user and libc6-arm64-cross with apt-get when they are missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-aarch64 >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
  echo "deploy-check: installing qemu-user and libc6-arm64-cross" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user libc6-arm64-cross >/dev/null
fi
scripts/tools.sh
scripts/tools.sh sam

echo "== make build (the artifacts the deploy ships)"
scripts/lambdas.sh

echo "== sam validate --lint, cfn-lint, checkov"
AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}" .tools/sam/bin/sam validate --lint --template-file template.yaml
.tools/lint/bin/cfn-lint template.yaml
scripts/iac_scan.sh

. scripts/emulator_session.sh

echo "== the translated template, and every arm64 bootstrap under qemu answering its events"
VOICEGATE_LAMBDA_ARTIFACTS=arm64 \
  cargo test -p voicegate-tests --test api -- --test-threads 2 template:: lambdas::
