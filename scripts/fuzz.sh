#!/usr/bin/env bash
# `make fuzz`: coverage-guided fuzzing of the request parsers and token
# verifiers with cargo-fuzz (libFuzzer), each target for FUZZ_SECONDS
# (default 60). Crashes land in fuzz/artifacts/<target>/ with the command to
# replay them. Uses AddressSanitizer through RUSTC_BOOTSTRAP on the stable
# toolchain (no nightly is needed or fetched).
set -euo pipefail
cd "$(dirname "$0")/.."
root=.tools/cargo-fuzz
if [ ! -x "$root/bin/cargo-fuzz" ]; then
  echo "tools: installing cargo-fuzz" >&2
  cargo install --quiet --locked cargo-fuzz --version 0.13.2 --root "$root"
fi
export PATH="$PWD/$root/bin:$PATH"
seconds="${FUZZ_SECONDS:-60}"
for target in ${FUZZ_TARGETS:-fields request_bodies token_verifiers}; do
  echo "== fuzz $target for ${seconds}s"
  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1)
done
