#!/usr/bin/env python3
"""`/connection-details` as a Python Lambda would do it, for `make bench`'s
cold-start comparison: a Runtime API loop (as the Lambda Python runtime runs
a handler) around the same work as voicegate's function: verify the ES256
bearer against the JWKS key, read the auth session (consistent) and the user,
mint the LiveKit participant token, write the voice session. boto3, PyJWT
and livekit-api, the usual choices. It skips voicegate's two rate-limit
writes, so it does less than the function it is compared with."""
import json
import os
import secrets
import time
import urllib.request
from datetime import timedelta

import boto3
import jwt
from livekit import api

RUNTIME = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"
TABLE = os.environ["TABLE_NAME"]
ISSUER = os.environ.get("TOKEN_ISSUER", "voicegate")
AUDIENCE = os.environ.get("TOKEN_AUDIENCE", "voicegate-api")
KEYS = {k["kid"]: jwt.PyJWK(k) for k in json.loads(os.environ["BENCH_JWKS"])["keys"]}
dynamodb = boto3.client("dynamodb")
secretsmanager = boto3.client("secretsmanager")
livekit = None


def handle(event):
    global livekit
    token = event["headers"]["authorization"].removeprefix("Bearer ")
    key = KEYS[jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER)
    session = dynamodb.get_item(
        TableName=TABLE,
        Key={"pk": {"S": f"SESSION#{claims['sid']}"}, "sk": {"S": "SESSION"}},
        ConsistentRead=True,
    ).get("Item")
    if not session or "revoked_at" in session or session["user_id"]["S"] != claims["sub"]:
        return {"statusCode": 401, "body": "{}"}
    user = dynamodb.get_item(
        TableName=TABLE, Key={"pk": {"S": f"USER#{claims['sub']}"}, "sk": {"S": "PROFILE"}}
    )["Item"]
    if livekit is None:
        livekit = json.loads(
            secretsmanager.get_secret_value(SecretId=os.environ["LIVEKIT_SECRET_ID"])["SecretString"]
        )
    now = int(time.time())
    session_id = "vs_" + secrets.token_hex(8)
    room = f"voice_assistant_room_{now}_{secrets.token_hex(8)}"
    identity = f"voice_assistant_user_{claims['sub']}"
    name = user["full_name"]["S"]
    metadata = json.dumps({"user_id": claims["sub"], "full_name": name, "session_id": session_id})
    participant = (
        api.AccessToken(livekit["api_key"], livekit["api_secret"])
        .with_identity(identity)
        .with_name(name)
        .with_grants(api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True,
                                     can_publish_data=True, can_publish_sources=["microphone"]))
        .with_metadata(metadata)
        .with_attributes({"user_id": claims["sub"], "session_id": session_id})
        .with_ttl(timedelta(seconds=900))
        .with_room_config(api.RoomConfiguration(agents=[api.RoomAgentDispatch(agent_name="banking-assistant")]))
        .to_jwt()
    )
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"VOICE#{session_id}"}, "sk": {"S": "VOICE"},
            "session_id": {"S": session_id}, "user_id": {"S": claims["sub"]},
            "room_name": {"S": room}, "identity": {"S": identity}, "status": {"S": "issued"},
            "started_at": {"N": str(now)}, "expires_at": {"N": str(now + 3600)},
        },
        ConditionExpression="attribute_not_exists(pk)",
    )
    body = {"server_url": os.environ["LIVEKIT_URL"], "room_name": room, "participant_name": name,
            "participant_token": participant, "session_id": session_id}
    return {"statusCode": 201, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


while True:
    with urllib.request.urlopen(f"{RUNTIME}/next") as r:
        request_id = r.headers["lambda-runtime-aws-request-id"]
        event = json.loads(r.read())
    answer = json.dumps(handle(event)).encode()
    urllib.request.urlopen(urllib.request.Request(f"{RUNTIME}/{request_id}/response", data=answer, method="POST")).read()
