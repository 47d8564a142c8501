"""Translates template.yaml as CloudFormation does during `sam deploy` (aws-sam-translator, SAM's
own transform), offline, and prints the CloudFormation JSON.

Usage: translate.py TEMPLATE [Parameter=value ...]

Local CodeUris are replaced by S3 URIs first, as `sam package` would. Managed policies are not
looked up (no AWS access): their ARNs stay as written. Parameters default to a LiveKit Cloud-like
setup; pass Name=value to override.
"""

import json
import os
import sys

# The transform fills AWS::Region and friends from the environment; any region will do.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicyLoader:
    def load(self):
        return {}


def main():
    path, *overrides = sys.argv[1:]
    with open(path) as f:
        template = yaml_parse(f.read())
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://voicegate-artifacts/{logical_id}.zip"
    params = {"LiveKitUrl": "wss://example.livekit.cloud"}
    params.update(dict(o.split("=", 1) for o in overrides))
    print(json.dumps(transform(template, params, OfflinePolicyLoader()), indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
