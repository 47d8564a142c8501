#!/usr/bin/env python3
"""Mints the participant token /connection-details mints, with LiveKit's Python
server SDK (livekit-api), `n` times after a warm-up: the side-by-side figure
of `make bench`. Input on stdin, JSON: {"api_key", "api_secret", "identity",
"name", "room", "metadata", "attributes", "agent_name", "ttl_seconds", "n"}.
Output: {"per_token_us", "n", "sdk"}."""
import json
import sys
import time
from datetime import timedelta

from livekit import api


def mint(a):
    grants = api.VideoGrants(
        room_join=True,
        room=a["room"],
        can_publish=True,
        can_subscribe=True,
        can_publish_data=True,
        can_publish_sources=["microphone"],
    )
    return (
        api.AccessToken(a["api_key"], a["api_secret"])
        .with_identity(a["identity"])
        .with_name(a["name"])
        .with_grants(grants)
        .with_metadata(a["metadata"])
        .with_attributes(a["attributes"])
        .with_ttl(timedelta(seconds=a["ttl_seconds"]))
        .with_room_config(
            api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name=a["agent_name"])])
        )
        .to_jwt()
    )


def main():
    a = json.load(sys.stdin)
    for _ in range(min(200, a["n"])):
        mint(a)
    start = time.perf_counter()
    for _ in range(a["n"]):
        mint(a)
    elapsed = time.perf_counter() - start
    print(json.dumps({"per_token_us": elapsed / a["n"] * 1e6, "n": a["n"], "sdk": "livekit-api"}))


if __name__ == "__main__":
    main()
