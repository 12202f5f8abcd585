#!/usr/bin/env bash
# The first fire alarm after the daemon released its binary's start-up
# pages (gateway/memtrim, docs/operations.md, Footprint): the path from a
# detector's alarm bit to the ticket at a subscriber is code an idle site
# has not run since the start, so it faults back in from storage. This
# prints, for RUNS daemons with the trim and RUNS without, the time from
# the register write to the ticket at a subscriber (it includes R1's two
# wait for the next 1 s poll and R1's confirming read, made at once) and the daemon's major page faults
# over that alarm — each one a read from storage, so on a board's eMMC
# (≈ 0.3 ms a random 4 KiB read) faults × 0.3 ms is what the trim adds.
# Numbers only, no pass/fail.
#
#   scripts/cold-alarm.sh                  RUNS=3 WAIT=40 (the trim fires 30 s after the start)
#
# Needs mosquitto and python3-pymodbus (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
WAIT=${WAIT:-40}
PY=/usr/bin/python3
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$MOSQ" ] && command -v mosquitto_sub >/dev/null || { echo "cold-alarm: mosquitto and mosquitto-clients are required" >&2; exit 2; }
$PY -c 'import pymodbus' 2>/dev/null || { echo "cold-alarm: python3-pymodbus is required" >&2; exit 2; }
[ -x bin/fenghuo ] || make -s build
WORK=$(mktemp -d /tmp/fenghuo-cold.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Each daemon runs from its own copy of the binary, so no other process
# (the simulator, an earlier run) keeps its pages in memory for it.
one() { # one TRIM: writes "ms faults" to $WORK/result
	local trim=$1 dir
	dir=$(mktemp -d "$WORK/run.XXXX")
	cp bin/fenghuo "$dir/fenghuo"
	cp bin/fenghuo "$dir/fenghuo-sim"
	local mq modbus
	mq=$(port)
	modbus=$(port)
	printf 'listener %s 127.0.0.1\nallow_anonymous true\n%s\n' "$mq" "$([ "$(id -u)" = 0 ] && echo 'user root')" >"$dir/mosquitto.conf"
	"$MOSQ" -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 &
	PIDS+=($!)
	cat >"$dir/gateway.yaml" <<-EOF
	gateway: {id: gw-cold-alarm, site: {name: bench, township_code: "330502103"}}
	buses:
	  - {name: lan, type: tcp, address: "127.0.0.1:$modbus", timeout: 300ms}
	devices:
	  - {id: smoke-1, name: smoke-1, bus: lan, slave: 1, profile: smoke-detector}
	uplink: {mqtt: {broker: "tcp://127.0.0.1:$mq"}, telemetry: {enabled: false}}
	buffer: {path: $dir/outbox.db}
	local: {socket: ""}
	log: {level: warn}
	EOF
	"$dir/fenghuo-sim" sim --writable --config "$dir/gateway.yaml" >"$dir/sim.log" 2>&1 &
	PIDS+=($!)
	sleep 1
	FENGHUO_MEMTRIM=$trim "$dir/fenghuo" run --config "$dir/gateway.yaml" >"$dir/gw.log" 2>&1 &
	local gw=$!
	PIDS+=("$gw")
	sleep "$WAIT"
	kill -0 "$gw" || { echo "cold-alarm: the daemon died:" >&2; tail "$dir/gw.log" >&2; exit 1; }
	mosquitto_sub -h 127.0.0.1 -p "$mq" -t 'fenghuo/v1/+/+/tickets' -C 1 -W 30 >"$dir/ticket.json" &
	local sub=$!
	sleep 0.5
	local f0 t0 t1 f1
	# What a small board's page cache does under pressure: the binary's
	# pages that no process maps are dropped (the ones the daemon maps stay).
	$PY -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$dir/fenghuo"
	f0=$(awk '{print $12}' "/proc/$gw/stat")
	t0=$(date +%s%N)
	$PY - "$modbus" <<-'PY'
	import sys
	from pymodbus.client import ModbusTcpClient
	c = ModbusTcpClient("127.0.0.1", port=int(sys.argv[1]))
	c.connect()
	r = c.write_register(0, 2, slave=1)  # status register: bit1 fire alarm
	assert not r.isError(), r
	c.close()
	PY
	wait "$sub" || { echo "cold-alarm: no ticket within 30 s" >&2; tail "$dir/gw.log" >&2; exit 1; }
	t1=$(date +%s%N)
	f1=$(awk '{print $12}' "/proc/$gw/stat")
	grep -q smoke_fire_alarm "$dir/ticket.json" || { echo "cold-alarm: not a fire ticket: $(cat "$dir/ticket.json")" >&2; exit 1; }
	echo "$(( (t1 - t0) / 1000000 )) $((f1 - f0))" >"$WORK/result"
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	PIDS=()
}

for trim in 1 0; do
	for _ in $(seq 1 "$RUNS"); do
		one "$trim"
		read -r ms faults <"$WORK/result"
		printf 'trim %-3s  alarm write -> ticket %5d ms  major faults over the alarm %4d\n' \
			"$([ "$trim" = 1 ] && echo on || echo off)" "$ms" "$faults"
	done
done
