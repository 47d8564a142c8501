#!/usr/bin/env python3
"""What a tool server does before it acts on a voicegate tool token.

Verifies the token against voicegate's JWKS with PyJWT: ES256 only, the tool
token `typ` (so an app access token is refused), our issuer, this tool
server's audience, an unexpired lifetime, and the scope the tool needs. A
`transact` tool must also find the confirmed transaction in
`authorization_details` and compare it with the movement it is about to make,
and should ask voicegate's introspection endpoint first (the token is good for
one introspection).

Input on stdin, JSON: {"token", "jwks_uri", "issuer", "audience", "scope"}.
Output: the verified claims as JSON; on refusal {"error": ...} and exit 1.
Needs: pip install "PyJWT[crypto]"
"""
import json
import sys

import jwt

TOOL_TOKEN_TYPE = "vg-tool+jwt"
REQUIRED = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "sid", "scope", "act"]


def verify(token, jwks_uri, issuer, audience, scope):
    header = jwt.get_unverified_header(token)
    if header.get("alg") != "ES256" or header.get("typ") != TOOL_TOKEN_TYPE:
        raise jwt.InvalidTokenError("not a voicegate tool token")
    key = jwt.PyJWKClient(jwks_uri).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        key.key,
        algorithms=["ES256"],
        audience=audience,
        issuer=issuer,
        options={"require": REQUIRED},
    )
    if scope not in claims["scope"].split(" "):
        raise jwt.InvalidTokenError(f"the token does not grant {scope}")
    if scope == "transact" and not claims.get("authorization_details"):
        raise jwt.InvalidTokenError("a transact token must name its confirmed transaction")
    return claims


def main():
    args = json.load(sys.stdin)
    try:
        claims = verify(args["token"], args["jwks_uri"], args["issuer"], args["audience"], args["scope"])
    except (jwt.PyJWTError, KeyError, ValueError) as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        sys.exit(1)
    print(json.dumps(claims))


if __name__ == "__main__":
    main()
