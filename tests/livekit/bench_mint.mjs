// Mints the participant token /connection-details mints, with LiveKit's Node
// server SDK (livekit-server-sdk), `n` times after a warm-up: the side-by-side
// figure of `make bench`. Same input and output as bench_mint.py.
import { readFileSync } from "node:fs";
import {
  AccessToken,
  RoomAgentDispatch,
  RoomConfiguration,
  TrackSource,
} from "livekit-server-sdk";

const a = JSON.parse(readFileSync(0, "utf8"));

async function mint() {
  const at = new AccessToken(a.api_key, a.api_secret, {
    identity: a.identity,
    name: a.name,
    ttl: a.ttl_seconds,
    metadata: a.metadata,
    attributes: a.attributes,
  });
  at.addGrant({
    roomJoin: true,
    room: a.room,
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
    canPublishSources: [TrackSource.MICROPHONE],
  });
  at.roomConfig = new RoomConfiguration({
    agents: [new RoomAgentDispatch({ agentName: a.agent_name })],
  });
  return at.toJwt();
}

for (let i = 0; i < Math.min(200, a.n); i++) await mint();
const start = process.hrtime.bigint();
for (let i = 0; i < a.n; i++) await mint();
const elapsed = Number(process.hrtime.bigint() - start) / 1e3;
console.log(JSON.stringify({ per_token_us: elapsed / a.n, n: a.n, sdk: "livekit-server-sdk" }));
