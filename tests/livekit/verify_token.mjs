#!/usr/bin/env node
// Verify a LiveKit access token with LiveKit's own Node SDK (livekit-server-sdk 2.19.x).
//
// stdin : {"api_key": "...", "api_secret": "...", "token": "<jwt>", "clock_tolerance_seconds": optional}
// stdout: the raw JWT payload exactly as `new TokenVerifier(key, secret).verify(jwt)` returns it
//         (LiveKit's camelCase claim names: sub, iss, exp, nbf, name, metadata, attributes,
//         video.{roomJoin, room, canPublish, canPublishSources, ...}, roomConfig.agents[].agentName, ...)
// exit  : 0 verified; 1 verification failed ({"error": "..."}); 2 bad input ({"error": "..."}).
//
// The SDK checks HS256 signature, iss == api key, requires exp; default clock tolerance 10 s.
import { TokenVerifier } from 'livekit-server-sdk';

function fail(message, code) {
  process.stdout.write(JSON.stringify({ error: message }) + '\n');
  process.exit(code);
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

let req;
try {
  req = JSON.parse(await readStdin());
  for (const k of ['api_key', 'api_secret', 'token']) {
    if (typeof req[k] !== 'string') throw new TypeError(`${k} must be a string`);
  }
} catch (err) {
  fail(`bad input: ${err}`, 2);
}

try {
  const verifier = new TokenVerifier(req.api_key, req.api_secret);
  const payload =
    req.clock_tolerance_seconds === undefined
      ? await verifier.verify(req.token)
      : await verifier.verify(req.token, req.clock_tolerance_seconds);
  process.stdout.write(JSON.stringify(payload) + '\n');
} catch (err) {
  fail(`${err?.code ?? err?.name ?? 'Error'}: ${err?.message ?? err}`, 1);
}
