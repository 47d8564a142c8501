"""Checks that infra/tools/moto_server.py's patches change no answer of moto's.

Sends the same requests (the shapes voicegate sends, plus conditional failures, malformed
and duplicate expressions, key updates, lists, maps, sets and binary values) to moto as
installed and to moto with the patches, each in its own process through werkzeug's test
client, and compares every status, header and body byte for byte (request ids, dates and
random identifiers masked). Every request is sent twice, so the second goes through what the
patches remember. Exits 1 and prints the first differences when anything differs.

    .tools/moto/bin/python infra/tools/moto_server_check.py
"""

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

PATCHES = Path(__file__).with_name("moto_server.py")
TABLE = "vg-check"
HEADERS = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/{service}/aws4_request, "
    "SignedHeaders=host, Signature=00",
    "X-Amz-Date": "20261207T000000Z",
    "Host": "127.0.0.1:4566",
}
# What differs between any two runs of the same request: masked before comparing.
RANDOM = [
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "UUID"),
    (re.compile(r"(secret:[\w/-]+)-[A-Za-z0-9]{6}"), r"\1-XXXXXX"),
    (re.compile(r'"(CreationDateTime|CreatedDate|LastUpdateToPayPerRequestDateTime)": ?[0-9.]+'), r'"\1": T'),
    (re.compile(r"[A-Z0-9]{52}"), "REQUESTID"),
]
# Content-Length too: a table's creation time is a float of varying length (the body,
# compared whole, says everything the length would).
UNSTABLE_HEADERS = {"x-amzn-requestid", "x-amz-crc32", "date", "x-amz-request-id", "content-length"}

KEY = {"pk": {"S": "X#1"}, "sk": {"S": "X"}}
WINDOW = {
    "TableName": TABLE,
    "Key": {"pk": {"S": "RATE#cd#u001"}, "sk": {"S": "RATE"}},
    "ReturnValues": "ALL_NEW",
    "UpdateExpression": "SET #write_mark = :write_mark, window_start = if_not_exists(window_start, :now), "
    "#ttl = if_not_exists(#ttl, :ttl) ADD hits :one",
    "ConditionExpression": "attribute_not_exists(hits) OR (window_start > :expired_before AND hits < :limit)",
    "ExpressionAttributeNames": {"#write_mark": "write_mark", "#ttl": "ttl"},
    "ExpressionAttributeValues": {
        ":expired_before": {"N": "1796610314"},
        ":write_mark": {"S": "fe4d91dda46c740b"},
        ":one": {"N": "1"},
        ":now": {"N": "1796611214"},
        ":limit": {"N": "3"},
        ":ttl": {"N": "1796612174"},
    },
    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
}
CONDITIONS = [
    "attribute_exists(pk)",
    "attribute_not_exists(nope) AND size(ss) > :one",
    "begins_with(pk, :p) OR pk = :p",
    "#n BETWEEN :one AND :two",
    "#n IN (:one, :two)",
    "NOT (#n = :one)",
    "pk = :p AND",
    "badtoken $ :one",
    "attribute_exists(#missing)",
    "ss = :one",
    "size(l) = :five",
    "(pk = :p)",
]
UPDATES = [
    ("SET a = :one SET b = :one", None),
    ("ADD c :one ADD d :one", None),
    ("REMOVE a REMOVE b", None),
    ("SET a = :one, a = :two", None),
    ("SET a.b = :one, a = :two", None),
    ("SET #x = :one, #y = :two", {"#x": "xa", "#y": "ya"}),
    ("SET #x = :one, #y = :two", {"#x": "xa", "#y": "xa"}),
    ("SET #x = :one, #y = :two", {"#x": "xa", "#y": "ya"}),
    ("SET pk = :p", None),
    ("SET #k = :p", {"#k": "sk"}),
    ("SET #k = :p", {"#k": "other"}),
    ("ADD ss :s DELETE ss :s2", None),
    ("ADD ns :one", None),
    ("SET l[0] = :one REMOVE l[1]", None),
    ("SET m.x = m.x + :one", None),
    ("SET m.y.z = :one", None),
    ("SET n = n - :one", None),
    ("SET q = list_append(l, :e)", None),
    ("SET e2 = :es", None),
    ("SET a = :one REMOVE a", None),
    ("ADD zz :one SET zz2 = if_not_exists(zz, :one)", None),
    ("SET #u = :one", None),
    ("SET a = :undefined", None),
    ("DELETE ns :one", None),
    ("SET b2 = :bb, ss = :s", None),
    ("REMOVE m.x, l[0]", None),
]
VALUES = {
    ":one": {"N": "1"},
    ":two": {"N": "2"},
    ":five": {"N": "5"},
    ":p": {"S": "X#"},
    ":s": {"SS": ["c"]},
    ":s2": {"SS": ["a"]},
    ":e": {"L": [{"S": "x"}]},
    ":es": {"S": ""},
    ":bb": {"B": "aGk="},
}


def requests():
    """(service, target, body) in order; every one is sent twice."""
    yield "dynamodb", "DynamoDB_20120810.CreateTable", {
        "TableName": TABLE,
        "AttributeDefinitions": [
            {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "gsi1",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    user = {
        "pk": {"S": "USER#u001"},
        "sk": {"S": "PROFILE"},
        "user_id": {"S": "u001"},
        "permissions": {"L": [{"S": "read"}, {"S": "transact"}]},
        "mfa_enabled": {"BOOL": False},
        "created_at": {"N": "0"},
        "gsi1pk": {"S": "USER#u001"},
        "gsi1sk": {"S": "PROFILE"},
    }
    guard = {"pk": {"S": "EMAIL#john@example.com"}, "sk": {"S": "EMAIL"}, "user_id": {"S": "u001"}}
    yield "dynamodb", "DynamoDB_20120810.TransactWriteItems", {
        "TransactItems": [
            {"Put": {"TableName": TABLE, "Item": user, "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"TableName": TABLE, "Item": guard, "ConditionExpression": "attribute_not_exists(pk)"}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "PHONE#h"}, "sk": {"S": "PHONE"}},
                    "UpdateExpression": "ADD accounts :one",
                    "ConditionExpression": "attribute_not_exists(accounts) OR accounts < :max",
                    "ExpressionAttributeValues": {":max": {"N": "3"}, ":one": {"N": "1"}},
                }
            },
        ]
    }
    session = {
        "pk": {"S": "SESSION#s1"},
        "sk": {"S": "SESSION"},
        "user_id": {"S": "u001"},
        "amr": {"L": [{"S": "pwd"}]},
        "two_factor_verified": {"BOOL": False},
        "expires_at": {"N": "1799203214"},
        "gsi1pk": {"S": "USER#u001"},
        "gsi1sk": {"S": "SESSION#1"},
    }
    yield "dynamodb", "DynamoDB_20120810.PutItem", {
        "TableName": TABLE,
        "Item": session,
        "ConditionExpression": "attribute_not_exists(pk)",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    yield "dynamodb", "DynamoDB_20120810.PutItem", {
        "TableName": TABLE,
        "Item": dict(
            KEY,
            l={"L": [{"S": "a"}, {"N": "1"}, {"BOOL": True}, {"NULL": True}, {"M": {"z": {"S": "q"}, "b": {"B": "aGVsbG8="}}}]},
            ss={"SS": ["a", "b"]},
            ns={"NS": ["1", "2"]},
            b={"B": "aGVsbG8="},
            bs={"BS": ["aGVsbG8="]},
            m={"M": {"x": {"N": "3"}}},
            e={"S": ""},
        ),
    }
    yield "dynamodb", "DynamoDB_20120810.GetItem", {"TableName": TABLE, "Key": KEY, "ConsistentRead": True}
    yield "dynamodb", "DynamoDB_20120810.BatchGetItem", {
        "RequestItems": {
            TABLE: {
                "Keys": [{"pk": session["pk"], "sk": session["sk"]}, {"pk": user["pk"], "sk": user["sk"]}],
                "ConsistentRead": True,
            }
        }
    }
    for _ in range(2):  # the window fills, then refuses with its old image
        yield "dynamodb", "DynamoDB_20120810.UpdateItem", WINDOW
    for i, condition in enumerate(CONDITIONS):
        names = {"#n": "n"} if "#n" in condition else {"#missing": "m"} if "#missing" in condition else None
        body = {
            "TableName": TABLE,
            "Key": KEY,
            "UpdateExpression": "SET n = if_not_exists(n, :one) ADD c :one",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {k: v for k, v in VALUES.items() if k in condition or k == ":one"},
            "ReturnValues": "ALL_NEW",
        }
        if names:
            body["ExpressionAttributeNames"] = names
        yield "dynamodb", "DynamoDB_20120810.UpdateItem", body
    for expression, names in UPDATES:
        body = {"TableName": TABLE, "Key": KEY, "UpdateExpression": expression, "ReturnValues": "ALL_NEW"}
        used = {k: v for k, v in VALUES.items() if k in expression}
        if used:
            body["ExpressionAttributeValues"] = used
        if names:
            body["ExpressionAttributeNames"] = names
        yield "dynamodb", "DynamoDB_20120810.UpdateItem", body
        yield "dynamodb", "DynamoDB_20120810.GetItem", {"TableName": TABLE, "Key": KEY, "ConsistentRead": True}
    yield "dynamodb", "DynamoDB_20120810.Query", {
        "TableName": TABLE,
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :u",
        "ExpressionAttributeValues": {":u": {"S": "USER#u001"}},
    }
    yield "dynamodb", "DynamoDB_20120810.DeleteItem", {"TableName": TABLE, "Key": KEY}
    yield "dynamodb", "DynamoDB_20120810.Scan", {"TableName": TABLE}
    yield "secretsmanager", "secretsmanager.CreateSecret", {"Name": "vg-check/app", "SecretString": '{"seed":"x"}'}
    yield "secretsmanager", "secretsmanager.GetSecretValue", {"SecretId": "vg-check/app"}
    yield "secretsmanager", "secretsmanager.GetSecretValue", {"SecretId": "vg-check/missing"}


def answers():
    """Every answer, masked, one line each (run in a child process)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.test import Client

    client = Client(DomainDispatcherApplication(create_backend_app))
    for service, target, body in requests():
        for attempt in (1, 2):
            headers = {k: v.format(service=service) for k, v in HEADERS.items()}
            headers["X-Amz-Target"] = target
            headers["Content-Type"] = "application/x-amz-json-1.0" if service == "dynamodb" else "application/x-amz-json-1.1"
            try:
                r = client.post("/", data=json.dumps(body), headers=headers)
                kept = sorted((k, v) for k, v in r.headers.items() if k.lower() not in UNSTABLE_HEADERS)
                line = f"{r.status_code} {kept} {r.data.decode()}"
            except Exception as exc:  # noqa: BLE001 - an exception is an answer too
                line = f"raised {type(exc).__name__}: {exc}"
            for pattern, mask in RANDOM:
                line = pattern.sub(mask, line)
            print(f"{target} #{attempt}: {line}")


def main() -> int:
    if sys.argv[1:] == ["--answers"]:
        answers()
        return 0
    if sys.argv[1:] == ["--patched-answers"]:
        runpy.run_path(str(PATCHES), run_name="patches")
        answers()
        return 0
    plain, patched = (
        subprocess.run([sys.executable, __file__, mode], capture_output=True, text=True, check=True).stdout.splitlines()
        for mode in ("--answers", "--patched-answers")
    )
    differ = [(a, b) for a, b in zip(plain, patched) if a != b]
    if len(plain) != len(patched) or differ or not plain:
        print(f"moto_server.py changes moto's answers ({len(differ)} of {len(plain)} differ):")
        for a, b in differ[:3]:
            print(f"  moto:    {a[:400]}\n  patched: {b[:400]}")
        return 1
    statuses = sorted({line.split(": ", 1)[1].split(" ", 1)[0] for line in plain})
    print(f"moto_server.py: all {len(plain)} answers byte-identical to moto's (statuses {', '.join(statuses)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
