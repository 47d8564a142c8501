#!/usr/bin/env bash
# `make build`: every Lambda function, once, for arm64 (provided.al2023), with one
# `cargo lambda build --release --arm64`. Each lands in target/lambda/<name>/bootstrap, the
# CodeUri of its function in template.yaml; prints each one's zipped size.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh lambda
export PATH="$PWD/.tools/lambda/bin:$PATH"
rustup target add aarch64-unknown-linux-gnu >/dev/null
args=()
for f in functions/*/; do args+=(--bin "$(basename "$f")"); done
# --lambda-dir: where template.yaml's CodeUri points, even with CARGO_TARGET_DIR set.
cargo lambda build --release --arm64 --lambda-dir target/lambda "${args[@]}"
python3 - <<'PY'
import io, os, zipfile
total = 0
for name in sorted(os.listdir("target/lambda")):
    path = f"target/lambda/{name}/bootstrap"
    if not os.path.exists(path):
        continue
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(path, "bootstrap")
    size, zipped = os.path.getsize(path), len(buf.getvalue())
    total += zipped
    print(f"{name:<22} bootstrap {size / 2**20:5.1f} MiB, zipped {zipped / 2**20:4.1f} MiB")
print(f"{'all':<22} zipped {total / 2**20:5.1f} MiB")
PY
