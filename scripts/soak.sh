#!/usr/bin/env bash
# Kill-loop soak (issue 5): the real binary, SIGKILLed at random moments
# during a burst of alarms, restarted each time; at the end a subscriber
# checks that every committed event was delivered, with no seq gap, and
# counts the duplicates (at-least-once). Not part of `make test` (minutes).
#
#   scripts/soak.sh                 50 kills, 12 simulated smoke detectors
#   KILLS=200 DEVICES=20 scripts/soak.sh
#
# Needs mosquitto, mosquitto_sub and mbpoll (Debian packages, DESIGN §9)
# and /usr/bin/python3 (stdlib sqlite3 and json only).
set -euo pipefail
cd "$(dirname "$0")/.."
KILLS=${KILLS:-50}
DEVICES=${DEVICES:-12}
PY=/usr/bin/python3
for tool in mosquitto mosquitto_sub mbpoll; do
	command -v "$tool" >/dev/null || { echo "soak: $tool is required (apt-get install mosquitto mosquitto-clients mbpoll)" >&2; exit 2; }
done

make -s build
BIN=$PWD/bin/fenghuo
WORK=$(mktemp -d /tmp/fenghuo-soak.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -n "${GW:-}" ] && kill -9 "$GW" 2>/dev/null || true
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

freeport() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MQTT_PORT=$(freeport)
SIM_PORT=$(freeport)
TOWNSHIP=330502103
GWID=gw-330502103-soak-01

# --- mosquitto with persistence (DESIGN §9)
mkdir -p "$WORK/mosq"
{
	echo "listener $MQTT_PORT 127.0.0.1"
	echo "allow_anonymous true"
	echo "persistence true"
	echo "persistence_location $WORK/mosq/"
	echo "max_queued_messages 0"
	[ "$(id -u)" = 0 ] && echo "user root"
} >"$WORK/mosquitto.conf"
mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)

# --- the site: DEVICES smoke detectors on one simulated TCP bus; R2
# (smoke pre-alarm) shortened so that lowering alarm_threshold opens a
# ticket within a second and raising it clears it.
{
	cat <<YAML
gateway:
  id: $GWID
  site: {name: 压测站点, township: 织里镇, township_code: "$TOWNSHIP", community: 云村, address: 湖州市吴兴区织里镇云村}
buses:
  - {name: sim, type: tcp, address: "127.0.0.1:$SIM_PORT", timeout: 300ms, retries: 1}
devices:
YAML
	for i in $(seq 1 "$DEVICES"); do
		echo "  - {id: smoke-$i, name: 烟感$i, bus: sim, slave: $i, profile: smoke-detector, location: 房间$i, poll: 200ms}"
	done
	cat <<YAML
rules:
  - id: R2
    profiles: [smoke-detector]
    hazard: smoke_prealarm
    type: threshold
    points: [smoke_level]
    threshold: 0.15
    threshold_point: alarm_threshold
    threshold_factor: 0.5
    hysteresis_pct: 20
    for: 0s
    min_samples: 1
    clear_for: 0s
    level: 3
uplink:
  mqtt: {broker: "tcp://127.0.0.1:$MQTT_PORT", topic_prefix: fenghuo/v1, keepalive: 5s, connect_spread: 0s}
  heartbeat: 5s
  telemetry: {enabled: false}
buffer: {path: "$WORK/outbox.db", max_size: 64MiB}
local: {socket: "", metrics: ""}
log: {level: info, format: text}
YAML
} >"$WORK/site.yaml"
"$BIN" config check "$WORK/site.yaml" >/dev/null

"$BIN" sim --config "$WORK/site.yaml" >"$WORK/sim.log" 2>&1 &
PIDS+=($!)

# --- the subscriber: a persistent QoS 1 session, every ticket one line
for _ in $(seq 50); do mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t '$SYS/#' -C 1 -W 1 >/dev/null 2>&1 && break; sleep 0.1; done
mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -q 1 -c -i soak-subscriber -t "fenghuo/v1/$TOWNSHIP/+/tickets" >"$WORK/tickets.jsonl" 2>"$WORK/sub.log" &
PIDS+=($!)

# toggle sets alarm_threshold of every detector: 10 (0.010 dB/m, below the
# 0.012 smoke level → pre-alarm) or 150 (the default → clear).
toggle() {
	for i in $(seq 1 "$DEVICES"); do
		mbpoll -m tcp -p "$SIM_PORT" -a "$i" -0 -r 6 -t 4 -1 -q 127.0.0.1 "$1" >/dev/null 2>&1 || true
	done
}

start_gw() {
	"$BIN" run --config "$WORK/site.yaml" >>"$WORK/gateway.log" 2>&1 &
	GW=$!
}

echo "soak: $KILLS kills, $DEVICES detectors, work dir $WORK"
start=$(date +%s)
value=10
for k in $(seq 1 "$KILLS"); do
	start_gw
	# a burst in the background: flip every detector a few times (each flip
	# opens or clears one ticket per detector) …
	flips=$((1 + RANDOM % 4))
	(
		v=$value
		for _ in $(seq "$flips"); do
			toggle $v
			v=$((v == 10 ? 150 : 10))
			sleep "0.$((RANDOM % 3 + 1))"
		done
	) &
	burst=$!
	[ $((flips % 2)) = 1 ] && value=$((value == 10 ? 150 : 10))
	# … and SIGKILL at a random moment: starting, polling, committing,
	# publishing, or idle
	sleep "$((RANDOM % 2)).$((RANDOM % 10))"
	kill -9 "$GW"
	wait "$GW" 2>/dev/null || true
	GW=
	wait "$burst"
	printf '\rsoak: kill %d/%d' "$k" "$KILLS"
done
echo

# --- final run: back to normal, let it drain, stop it cleanly
start_gw
toggle 150
$PY - "$WORK/outbox.db" <<'PY'
import sqlite3, sys, time
deadline = time.time() + 120
while time.time() < deadline:
    try:
        db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
        n = db.execute("SELECT count(*) FROM records WHERE sent_at IS NULL").fetchone()[0]
        db.close()
        if n == 0:
            sys.exit(0)
    except sqlite3.Error:
        pass
    time.sleep(0.5)
sys.exit("soak: the outbox did not drain within 120 s")
PY
sleep 2 # let the last rule decisions (clears after toggle 150) commit and drain
$PY - "$WORK/outbox.db" <<'PY'
import sqlite3, sys, time
for _ in range(240):
    db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=5)
    n = db.execute("SELECT count(*) FROM records WHERE sent_at IS NULL").fetchone()[0]
    db.close()
    if n == 0:
        sys.exit(0)
    time.sleep(0.5)
sys.exit("soak: the outbox did not drain")
PY
kill -TERM "$GW"
wait "$GW" 2>/dev/null || true
GW=

# --- the verdict
$PY - "$WORK/outbox.db" "$WORK/tickets.jsonl" "$KILLS" "$(($(date +%s) - start))" <<'PY'
import json, sqlite3, sys, time
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
committed = db.execute("SELECT value FROM counters WHERE name = 'ticket'").fetchone()[0]
deadline = time.time() + 30
while True:
    seqs, ids, dups, lines = set(), set(), 0, 0
    with open(sys.argv[2], encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            lines += 1
            if t["event_id"] in ids:
                dups += 1
            ids.add(t["event_id"])
            seqs.add(t["seq"])
    missing = [q for q in range(1, committed + 1) if q not in seqs]
    if not missing or time.time() > deadline:
        break
    time.sleep(0.5)
print(f"soak: {sys.argv[3]} SIGKILLs in {sys.argv[4]} s; {committed} events committed, "
      f"{len(ids)} distinct delivered ({lines} messages), {len(missing)} lost, "
      f"{len(missing)} seq gaps, {dups} duplicates")
if missing:
    print("soak: FAIL: missing seqs", missing[:20], file=sys.stderr)
    sys.exit(1)
if committed == 0:
    print("soak: FAIL: no event was committed (did the alarms fire?)", file=sys.stderr)
    sys.exit(1)
print("soak: PASS")
PY
