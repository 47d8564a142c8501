# Sourced, not run, by the make scripts: `. scripts/emulator_session.sh`
# starts the moto emulator on $EMULATOR_PORT (a free loopback port when unset;
# one already answering there is reused), waits until it is ready, and stops
# the one it started when the sourcing script exits, however it exits.
# Afterwards EMULATOR_PORT and VOICEGATE_TEST_AWS_ENDPOINT name it.
EMULATOR_PORT="${EMULATOR_PORT:-$(scripts/emulator.sh free-port)}"
emulator_pidfile=".local/moto-$EMULATOR_PORT.pid"
mkdir -p .local
trap 'scripts/emulator.sh down "$emulator_pidfile"' EXIT INT TERM
scripts/emulator.sh up "$EMULATOR_PORT" "$emulator_pidfile"
export EMULATOR_PORT VOICEGATE_TEST_AWS_ENDPOINT="http://127.0.0.1:$EMULATOR_PORT"
