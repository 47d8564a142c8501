#!/usr/bin/env bash
# Local AWS emulator helpers (moto server on loopback).
#   scripts/emulator.sh free-port          print a free loopback TCP port
#   scripts/emulator.sh up PORT PIDFILE    start moto on PORT unless one answers there; wait until ready
#   scripts/emulator.sh down PIDFILE       stop the moto this script started
#   scripts/emulator.sh sms PORT           print the SMS outbox
set -euo pipefail
cd "$(dirname "$0")/.."

answers() { python3 - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1); sys.exit(0)
except Exception:
    sys.exit(1)
PY
}

case "${1:-}" in
  free-port)
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' ;;
  up)
    port="$2" pidfile="$3"
    if answers "$port"; then echo "emulator: reusing the one on 127.0.0.1:$port" >&2; exit 0; fi
    scripts/tools.sh moto
    mkdir -p .local
    .tools/moto/bin/python infra/tools/moto_server.py -H 127.0.0.1 -p "$port" >".local/moto-$port.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      answers "$port" && { echo "emulator: moto on 127.0.0.1:$port" >&2; exit 0; }
      kill -0 "$(cat "$pidfile")" 2>/dev/null || { cat ".local/moto-$port.log" >&2; exit 1; }
      sleep 0.2
    done
    echo "emulator: moto did not start on port $port" >&2; exit 1 ;;
  down)
    pidfile="$2"
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi ;;
  sms)
    python3 - "${2:-4566}" <<'PY'
import json, sys, urllib.request
try:
    data = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/data.json", timeout=5))
except Exception as e:
    sys.exit(f"no emulator answers on port {sys.argv[1]}: start it with `make dev`")
sms = data.get("sns", {}).get("SMS", [])
if isinstance(sms, dict):
    sms = list(sms.values())
if not sms:
    print("(SMS outbox is empty)")
for msg in sms:
    print(f"{msg.get('phone_number')}: {msg.get('message')}")
PY
    ;;
  *) echo "usage: $0 free-port | up PORT PIDFILE | down PIDFILE | sms PORT" >&2; exit 2 ;;
esac
