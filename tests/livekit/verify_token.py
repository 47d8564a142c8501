#!/usr/bin/env python3
"""Verify a LiveKit access token with LiveKit's own Python SDK (livekit-api).

stdin : {"api_key": "...", "api_secret": "...", "token": "<jwt>", "leeway_seconds": optional number}
stdout: one JSON object with the claims as livekit.api.TokenVerifier(...).verify() returns them
        (snake_case field names, exactly as the SDK's dataclasses / protobuf messages name them),
        plus the registered JWT claims (iss, sub, exp, nbf, iat, jti) read from the verified token.
exit  : 0 verified; 1 verification failed ({"error": "..."}); 2 bad input ({"error": "..."}).

Notes on the SDK (livekit-api 1.2.x, livekit/api/access_token.py):
- verify() checks HS256 signature, iss == api_key, requires exp, leeway 60 s by default.
- VideoGrants dataclass defaults can_publish/can_subscribe/can_publish_data to True when the
  JWT omits them; the raw values are in "raw_video" for tests that need to tell them apart.
- room_config is a livekit.protocol.room.RoomConfiguration protobuf message; it is converted
  with MessageToDict(preserving_proto_field_name=True) so agents come out as
  [{"agent_name": ..., "metadata": ...}] (fields at their default value are omitted by protobuf).
"""

import dataclasses
import datetime
import json
import sys
import warnings

# LiveKit dev secrets ("secret") are shorter than PyJWT recommends; keep stderr quiet.
warnings.filterwarnings("ignore", message="The HMAC key is")

try:
    import jwt  # PyJWT, a dependency of livekit-api
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import Message
    from livekit import api
except ImportError as exc:  # pragma: no cover - environment problem
    print(json.dumps({"error": f"missing dependency: {exc}"}))
    sys.exit(2)


def to_jsonable(value):
    """Convert SDK objects (dataclasses, protobuf messages, containers) to plain JSON values."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Message):
        return MessageToDict(value, preserving_proto_field_name=True)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    # protobuf repeated/map containers and anything else iterable
    if hasattr(value, "items"):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if hasattr(value, "__iter__"):
        return [to_jsonable(v) for v in value]
    return str(value)


def fail(message: str, code: int) -> None:
    print(json.dumps({"error": message}))
    sys.exit(code)


def main() -> None:
    try:
        req = json.loads(sys.stdin.read())
        key = req["api_key"]
        secret = req["api_secret"]
        token = req["token"]
        if not all(isinstance(v, str) for v in (key, secret, token)):
            raise TypeError("api_key, api_secret and token must be strings")
        leeway = req.get("leeway_seconds")
    except Exception as exc:  # noqa: BLE001
        fail(f"bad input: {type(exc).__name__}: {exc}", 2)

    kwargs = {}
    if leeway is not None:
        kwargs["leeway"] = datetime.timedelta(seconds=float(leeway))

    try:
        claims = api.TokenVerifier(key, secret, **kwargs).verify(token)
    except Exception as exc:  # noqa: BLE001 - any SDK/PyJWT error means "not verified"
        fail(f"{type(exc).__name__}: {exc}", 1)

    # The signature was verified above; read the registered claims the SDK does not expose.
    raw = jwt.decode(token, options={"verify_signature": False})

    out = {f.name: to_jsonable(getattr(claims, f.name)) for f in dataclasses.fields(claims)}
    for name in ("iss", "sub", "exp", "nbf", "iat", "jti"):
        out[name] = raw.get(name)
    out["raw_video"] = raw.get("video")
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
