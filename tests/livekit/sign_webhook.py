#!/usr/bin/env python3
"""Produce the Authorization header value LiveKit sends with a webhook, using LiveKit's Python SDK.

stdin : {"api_key": "...", "api_secret": "...", "body": "<raw body string>",
         "ttl_seconds": optional int (default 300, as LiveKit's server; negative => already expired),
         "tamper": optional, one of
             "signature" - flip the JWT signature (bad signature)
             "sha256"    - sign a sha256 claim of a different body (hash mismatch)
             "no_sha256" - a valid token without the sha256 claim
             "secret"    - sign with a wrong secret
             "issuer"    - sign with a different api key as iss
             "alg_none"  - unsigned token (alg: none)}
         "json": optional bool (default false)
stdout: the Authorization header value on one line: the bare JWT (LiveKit sends no "Bearer "
        prefix; its request has Content-Type: application/webhook+json).
        With "json": true instead {"authorization": "<jwt>", "sha256": "<base64 sha256 of body>",
        "exp": <unix seconds>}.
exit  : 0 ok; 2 bad input.

How LiveKit signs (livekit/protocol webhook/url_notifier.go send()):
    encoded := protojson.Marshal(event); sum := sha256.Sum256(encoded)
    b64 := base64.StdEncoding.EncodeToString(sum[:])
    auth.NewAccessToken(apiKey, apiSecret).SetValidFor(5 * time.Minute).SetSha256(b64).ToJWT()
How the Python SDK checks (livekit/api/webhook.py WebhookReceiver.receive): TokenVerifier.verify
(HS256, iss == api key, exp required, 60 s leeway), then base64-decodes the sha256 claim and
compares it with sha256(body.encode()).
"""

import base64
import calendar
import datetime
import hashlib
import json
import sys
import warnings

# LiveKit dev secrets ("secret") are shorter than PyJWT recommends; keep stderr quiet.
warnings.filterwarnings("ignore", message="The HMAC key is")

import jwt  # PyJWT, a dependency of livekit-api
from livekit import api

TAMPERS = {None, "signature", "sha256", "no_sha256", "secret", "issuer", "alg_none"}


def fail(message: str) -> None:
    print(json.dumps({"error": message}))
    sys.exit(2)


def body_sha256_b64(body: str) -> str:
    return base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()


def main() -> None:
    try:
        req = json.loads(sys.stdin.read())
        key, secret, body = req["api_key"], req["api_secret"], req["body"]
        if not all(isinstance(v, str) for v in (key, secret, body)):
            raise TypeError("api_key, api_secret and body must be strings")
        ttl = int(req.get("ttl_seconds", 300))
        tamper = req.get("tamper")
        as_json = bool(req.get("json", False))
        if tamper not in TAMPERS:
            raise ValueError(f"tamper must be one of {sorted(t for t in TAMPERS if t)}")
    except Exception as exc:  # noqa: BLE001
        fail(f"bad input: {type(exc).__name__}: {exc}")

    digest = body_sha256_b64(body)
    sign_key = key
    sign_secret = secret
    claim_digest = digest
    if tamper == "sha256":
        claim_digest = body_sha256_b64(body + " ")
    elif tamper == "secret":
        sign_secret = secret + "-wrong"
    elif tamper == "issuer":
        sign_key = key + "-other"

    now = datetime.datetime.now(datetime.timezone.utc)
    token_builder = api.AccessToken(sign_key, sign_secret)
    if tamper != "no_sha256":
        token_builder = token_builder.with_sha256(claim_digest)

    if ttl > 0 and tamper != "alg_none":
        # The SDK's own path: AccessToken.to_jwt() sets iss, sub (empty), nbf, exp, sha256.
        token = token_builder.with_ttl(datetime.timedelta(seconds=ttl)).to_jwt()
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    else:
        # Expired (ttl <= 0) or unsigned tokens: build the same claims the SDK would, with PyJWT.
        claims = token_builder.claims.asdict()
        exp = calendar.timegm((now + datetime.timedelta(seconds=ttl)).utctimetuple())
        nbf = min(calendar.timegm(now.utctimetuple()), exp - 1)
        if ttl <= 0:
            nbf = exp - 300
        claims.update({"sub": "", "iss": sign_key, "nbf": nbf, "exp": exp})
        if tamper == "alg_none":
            token = jwt.encode(claims, None, algorithm="none")
        else:
            token = jwt.encode(claims, sign_secret, algorithm="HS256")

    if tamper == "signature":
        head, payload, sig = token.split(".")
        raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
        raw[0] ^= 0x01
        sig = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
        token = f"{head}.{payload}.{sig}"

    if as_json:
        print(json.dumps({"authorization": token, "sha256": digest, "exp": exp}))
    else:
        print(token)


if __name__ == "__main__":
    main()
