#!/usr/bin/env node
// Call a token endpoint exactly as LiveKit's JS client SDK does (livekit-client 2.23.x,
// src/room/token-source/TokenSource.ts, class TokenSourceEndpoint).
//
// stdin : {"url": "http://127.0.0.1:3000/connection-details",
//          "headers": {"Authorization": "Bearer ..."},            (optional)
//          "request": {"roomName"?, "participantName"?, "participantIdentity"?,
//                      "participantMetadata"?, "participantAttributes"?,
//                      "agentName"?, "agentMetadata"?, "deployment"?}   (optional, TokenSourceFetchOptions)
//          "method": optional HTTP method (the SDK defaults to POST)}
// stdout: the object TokenSource.endpoint(url, {headers}).fetch(request) resolves to:
//         {"serverUrl": "...", "participantToken": "..."} (protobuf-es toJson of TokenSourceResponse:
//         camelCase, fields at their default "" omitted).
// exit  : 0 ok; 1 the SDK threw ({"error": "..."}, e.g. non-2xx status or non-JSON body);
//         2 bad input.
//
// Runs under Node >= 18 (global fetch). Importing livekit-client in Node is fine: TokenSource
// needs no WebRTC/DOM API.
import { TokenSource } from 'livekit-client';

function fail(message, code) {
  process.stdout.write(JSON.stringify({ error: message }) + '\n');
  process.exit(code);
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

let input;
try {
  input = JSON.parse(await readStdin());
  if (typeof input.url !== 'string') throw new TypeError('url must be a string');
  if (input.headers !== undefined && (typeof input.headers !== 'object' || input.headers === null)) {
    throw new TypeError('headers must be an object');
  }
} catch (err) {
  fail(`bad input: ${err}`, 2);
}

const endpointOptions = {};
if (input.headers) endpointOptions.headers = input.headers;
if (input.method) endpointOptions.method = input.method;

try {
  const source = TokenSource.endpoint(input.url, endpointOptions);
  const result = await source.fetch(input.request ?? {});
  process.stdout.write(JSON.stringify(result) + '\n');
} catch (err) {
  fail(`${err?.name ?? 'Error'}: ${err?.message ?? err}`, 1);
}
