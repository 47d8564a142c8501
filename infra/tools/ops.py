"""On-call's hands on voicegate's table (docs/operations.md). Uses boto3 and your AWS credentials.

  ops.py --table TABLE sessions USER_ID        list a user's auth sessions
  ops.py --table TABLE revoke-session SID      revoke one session: its refresh token and every
                                               access token of it stop working at once
  ops.py --table TABLE suspend USER_ID         no sign-in succeeds and no refresh rotates for the
                                               user, and every live session is revoked
  ops.py --table TABLE unsuspend USER_ID       allow sign-in again (revoked sessions stay revoked)

--endpoint-url points at another endpoint (the local emulator). The table name is the stack's
TableName output. Every change is a conditional write: a revocation never overwrites an earlier
one, and a suspension of a user that does not exist fails.
"""

import argparse
import sys
import time

import boto3
from botocore.exceptions import ClientError


def sessions(db, table, user_id):
    items, start = [], None
    while True:
        kwargs = {
            "TableName": table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :pk AND begins_with(gsi1sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": f"USER#{user_id}"}, ":prefix": {"S": "SESSION#"}},
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = db.query(**kwargs)
        items.extend(page.get("Items", []))
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def revoke(db, table, sid, reason):
    try:
        db.update_item(
            TableName=table,
            Key={"pk": {"S": f"SESSION#{sid}"}, "sk": {"S": "SESSION"}},
            UpdateExpression="SET revoked_at = :now, revoked_reason = :reason",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(revoked_at)",
            ExpressionAttributeValues={":now": {"N": str(int(time.time()))}, ":reason": {"S": reason}},
        )
        return True
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", required=True)
    parser.add_argument("--endpoint-url")
    parser.add_argument("--region", default=None)
    parser.add_argument("command", choices=["sessions", "revoke-session", "suspend", "unsuspend"])
    parser.add_argument("id", help="a user id (u...) or, for revoke-session, a session id")
    args = parser.parse_args()
    db = boto3.client("dynamodb", endpoint_url=args.endpoint_url, region_name=args.region)

    if args.command == "sessions":
        for item in sessions(db, args.table, args.id):
            revoked = item.get("revoked_at", {}).get("N", "-")
            print(f"{item['sid']['S']}  created {item['created_at']['N']}  expires {item['expires_at']['N']}  revoked {revoked}")
    elif args.command == "revoke-session":
        print("revoked" if revoke(db, args.table, args.id, "operator") else "already revoked or unknown")
    elif args.command == "suspend":
        try:
            db.update_item(
                TableName=args.table,
                Key={"pk": {"S": f"USER#{args.id}"}, "sk": {"S": "PROFILE"}},
                UpdateExpression="SET suspended_at = if_not_exists(suspended_at, :now)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
            )
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                sys.exit(f"no user {args.id}")
            raise
        revoked = sum(revoke(db, args.table, item["sid"]["S"], "user_suspended") for item in sessions(db, args.table, args.id))
        print(f"suspended {args.id}; revoked {revoked} live session(s)")
    else:
        db.update_item(
            TableName=args.table,
            Key={"pk": {"S": f"USER#{args.id}"}, "sk": {"S": "PROFILE"}},
            UpdateExpression="REMOVE suspended_at",
            ConditionExpression="attribute_exists(pk)",
        )
        print(f"unsuspended {args.id}")


if __name__ == "__main__":
    main()
