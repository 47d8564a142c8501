#!/usr/bin/env bash
# Builds the Lambda binaries for arm64 (provided.al2023) with cargo-lambda.
#   scripts/lambdas.sh        every function once, into target/lambda/<name>/bootstrap
#   scripts/lambdas.sh --sam  `sam build` (which runs cargo-lambda per function)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh lambda
export PATH="$PWD/.tools/lambda/bin:$PATH"
rustup target add aarch64-unknown-linux-gnu >/dev/null
if [ "${1:-}" = "--sam" ]; then
  scripts/tools.sh sam
  exec .tools/sam/bin/sam build
fi
bins=$(ls functions)
args=()
for b in $bins; do args+=(--bin "$b"); done
cargo lambda build --release --arm64 "${args[@]}"
ls -l target/lambda/*/bootstrap
