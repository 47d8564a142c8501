// `/connection-details` as a Node.js Lambda would do it, for `make bench`'s
// cold-start comparison: a Runtime API loop around the same work as
// voicegate's function (ES256 bearer against the JWKS key, consistent session
// read, user read, LiveKit participant token, voice-session write) with the
// usual choices: AWS SDK v3, jose, livekit-server-sdk. It skips voicegate's
// two rate-limit writes, so it does less than the function it is compared with.
import { randomBytes } from "node:crypto";
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { SecretsManagerClient, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { createLocalJWKSet, jwtVerify } from "jose";
import {
  AccessToken,
  RoomAgentDispatch,
  RoomConfiguration,
  TrackSource,
} from "livekit-server-sdk";

const runtime = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation`;
const table = process.env.TABLE_NAME;
const jwks = createLocalJWKSet(JSON.parse(process.env.BENCH_JWKS));
const dynamodb = new DynamoDBClient({});
const secretsmanager = new SecretsManagerClient({});
let livekit;

async function handle(event) {
  const token = event.headers.authorization.replace(/^Bearer /, "");
  const { payload: claims } = await jwtVerify(token, jwks, {
    algorithms: ["ES256"],
    issuer: process.env.TOKEN_ISSUER ?? "voicegate",
    audience: process.env.TOKEN_AUDIENCE ?? "voicegate-api",
  });
  const session = (
    await dynamodb.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: `SESSION#${claims.sid}` }, sk: { S: "SESSION" } },
        ConsistentRead: true,
      }),
    )
  ).Item;
  if (!session || session.revoked_at || session.user_id.S !== claims.sub) {
    return { statusCode: 401, body: "{}" };
  }
  const user = (
    await dynamodb.send(
      new GetItemCommand({
        TableName: table,
        Key: { pk: { S: `USER#${claims.sub}` }, sk: { S: "PROFILE" } },
      }),
    )
  ).Item;
  livekit ??= JSON.parse(
    (await secretsmanager.send(new GetSecretValueCommand({ SecretId: process.env.LIVEKIT_SECRET_ID })))
      .SecretString,
  );
  const now = Math.floor(Date.now() / 1000);
  const sessionId = `vs_${randomBytes(8).toString("hex")}`;
  const room = `voice_assistant_room_${now}_${randomBytes(8).toString("hex")}`;
  const identity = `voice_assistant_user_${claims.sub}`;
  const name = user.full_name.S;
  const at = new AccessToken(livekit.api_key, livekit.api_secret, {
    identity,
    name,
    ttl: 900,
    metadata: JSON.stringify({ user_id: claims.sub, full_name: name, session_id: sessionId }),
    attributes: { user_id: claims.sub, session_id: sessionId },
  });
  at.addGrant({
    roomJoin: true,
    room,
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
    canPublishSources: [TrackSource.MICROPHONE],
  });
  at.roomConfig = new RoomConfiguration({
    agents: [new RoomAgentDispatch({ agentName: "banking-assistant" })],
  });
  const participantToken = await at.toJwt();
  await dynamodb.send(
    new PutItemCommand({
      TableName: table,
      Item: {
        pk: { S: `VOICE#${sessionId}` },
        sk: { S: "VOICE" },
        session_id: { S: sessionId },
        user_id: { S: claims.sub },
        room_name: { S: room },
        identity: { S: identity },
        status: { S: "issued" },
        started_at: { N: String(now) },
        expires_at: { N: String(now + 3600) },
      },
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
  const body = {
    server_url: process.env.LIVEKIT_URL,
    room_name: room,
    participant_name: name,
    participant_token: participantToken,
    session_id: sessionId,
  };
  return { statusCode: 201, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

for (;;) {
  const next = await fetch(`${runtime}/next`);
  const requestId = next.headers.get("lambda-runtime-aws-request-id");
  const answer = await handle(await next.json());
  await fetch(`${runtime}/${requestId}/response`, { method: "POST", body: JSON.stringify(answer) });
}
