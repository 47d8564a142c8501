#!/usr/bin/env bash
# checkov on template.yaml and on what SAM's translator makes of it (the resources CloudFormation
# will really create). Clean except for checks skipped in the template, each with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .local
translated=.local/template.translated.json
.tools/lint/bin/python infra/tools/translate.py template.yaml >"$translated"
for file in template.yaml "$translated"; do
  .tools/checkov/bin/checkov -f "$file" --framework cloudformation --compact --quiet --skip-download
done
