# Sourced by the scripts that run the relay harness's fake OpenAI provider
# (../shared/peers/relay/upstream.py) beside Tokenwire builds: bench-relay-call-cost.sh and
# trace-relay-ttft.sh. Set `script` (the caller's name, for messages) and `repo_root` first.
#
# Sets relay_dir (TOKENWIRE_RELAY_DIR), bench (TOKENWIRE_BENCH, tokenwire-bench), VENV and PY;
# relay_harness_ready checks them (and makes the venv if missing); start_relay_upstream
# starts upstream.py and waits until it answers.

relay_dir="${TOKENWIRE_RELAY_DIR:-$repo_root/../shared/peers/relay}"
bench="${TOKENWIRE_BENCH:-$repo_root/.build/release/tokenwire-bench}"
VENV=${VENV:-/tmp/relay-venv}
PY="$VENV/bin/python"

relay_harness_ready() {
  [ -f "$relay_dir/upstream.py" ] || { echo "$script: no relay harness at $relay_dir (../shared/peers/relay; set TOKENWIRE_RELAY_DIR)" >&2; exit 2; }
  [ -x "$bench" ] || { echo "$script: no $bench: swift build -c release --product tokenwire-bench" >&2; exit 2; }
  [ -x "$PY" ] && "$PY" -c 'import uvloop' 2>/dev/null || VENV="$VENV" bash "$relay_dir/setup.sh" >&2
}

# start_relay_upstream PORT INTERVAL_MS LOG [COMMAND PREFIX...]: sets up_pid.
start_relay_upstream() {
  local port=$1 interval=$2 log=$3; shift 3
  "$@" "$PY" "$relay_dir/upstream.py" --port "$port" > "$log" 2>&1 &
  up_pid=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/control?interval_ms=$interval" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$port/control?interval_ms=$interval" \
    || { echo "$script: upstream.py did not come up (see $log)" >&2; exit 1; }
}
