#!/usr/bin/env bash
# Footprint at scale (issue 13, Build 4): the real daemon polling N Modbus
# TCP devices × 100 registers at 1 s, served by `fenghuo sim` on BUSES
# endpoints, with the uplink to a local mosquitto. After a warm-up it
# samples the daemon's /proc for WINDOW seconds and prints RSS (peak and
# last; split into anon — heap, stacks, SQLite — and file, the pages of
# the binary it has touched, clean and shared), CPU (% of one core) and
# the achieved poll rate from its metrics.
# Numbers only, no pass/fail; `make bench-scale` runs it at 100 000 and
# 10 000 points and an idle daemon, side by side.
#
#   scripts/bench-scale.sh                 DEVICES=1000 BUSES=10 (100 000 points)
#   DEVICES=100 BUSES=1 scripts/bench-scale.sh
#   DEVICES=0 scripts/bench-scale.sh       an idle daemon (one device, 1 register, 1 s)
#   MEMLIMIT=20M DEVICES=0 scripts/bench-scale.sh
#                                          the daemon in a memory cgroup of that limit (v1 or v2;
#                                          root): its binary is copied in inside the cgroup, so
#                                          its pages count against the limit as on a small board;
#                                          read the major faults/s (pages read back from disk)
#
# Needs mosquitto (Debian package). The simulator runs in its own process
# and is not counted.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICES=${DEVICES:-1000}
BUSES=${BUSES:-10}
WARMUP=${WARMUP:-40}  # past the daemon's trim of its start-up pages at 30 s (docs/operations.md, Footprint)
WINDOW=${WINDOW:-60}
REGS=100
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$MOSQ" ] || { echo "bench-scale: mosquitto is required" >&2; exit 2; }
[ -x bin/fenghuo ] || make -s build
BIN=${BIN:-$PWD/bin/fenghuo}
WORK=$(mktemp -d /tmp/fenghuo-scale.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	[ -z "${CG:-}" ] || rmdir "$CG" 2>/dev/null || true
	[ -n "${KEEP:-}" ] && { echo "kept $WORK" >&2; return; }
	rm -rf "$WORK"
}
trap cleanup EXIT
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

idle=0
if [ "$DEVICES" = 0 ]; then idle=1; DEVICES=1; BUSES=1; REGS=1; fi
PER=$(( (DEVICES + BUSES - 1) / BUSES ))

# A profile of REGS u16 holding registers, read every second, no rules.
mkdir -p "$WORK/profiles"
{
	echo "name: bench-$REGS"
	echo "category: electrical"
	echo "source: synthetic, for scripts/bench-scale.sh"
	echo "poll: 1s"
	echo "points:"
	for i in $(seq 0 $((REGS - 1))); do echo "  - {name: r$i, address: $i, unit: A}"; done
} >"$WORK/profiles/bench.yaml"

MQPORT=$(port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\n%s\n' "$MQPORT" "$([ "$(id -u)" = 0 ] && echo 'user root')" >"$WORK/mosquitto.conf"
"$MOSQ" -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
PIDS+=($!)

METRICS=127.0.0.1:$(port)
CFG=$WORK/gateway.yaml
{
	echo "gateway: {id: gw-bench-scale, site: {name: bench, township_code: \"330502103\"}}"
	echo "profiles_dir: $WORK/profiles"
	echo "buses:"
	for b in $(seq 1 "$BUSES"); do echo "  - {name: lan$b, type: tcp, address: 127.0.0.1:$(port), timeout: 1s}"; done
	echo "devices:"
	n=0
	for b in $(seq 1 "$BUSES"); do
		for s in $(seq 1 "$PER"); do
			[ "$n" -lt "$DEVICES" ] || break
			n=$((n + 1))
			echo "  - {id: d$n, name: d$n, bus: lan$b, slave: $s, profile: bench-$REGS}"
		done
	done
	echo "uplink: {mqtt: {broker: \"tcp://127.0.0.1:$MQPORT\"}, telemetry: {enabled: false}}"
	echo "buffer: {path: $WORK/outbox.db}"
	echo "local: {socket: \"\", metrics: \"$METRICS\"}"
	echo "log: {level: warn}"
} >"$CFG"
"$BIN" config check "$CFG" >/dev/null

if [ "$idle" = 0 ]; then
	# The simulator runs from a copy of the binary: run from the same file,
	# its hot pages (the Modbus code both run) would be shared with the
	# daemon's mappings and counted in the daemon's RSS, which no gateway
	# in the field has.
	cp "$BIN" "$WORK/fenghuo-sim"
	"$WORK/fenghuo-sim" sim --config "$CFG" >"$WORK/sim.log" 2>&1 &
	PIDS+=($!)
	sleep 2
fi
CG=""
if [ -n "${MEMLIMIT:-}" ]; then
	if [ -d /sys/fs/cgroup/memory ]; then # v1
		CG=/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)/fenghuo-bench.$$
		mkdir "$CG" && echo "$MEMLIMIT" >"$CG/memory.limit_in_bytes"
	else # v2
		CG=/sys/fs/cgroup$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)/fenghuo-bench.$$
		mkdir "$CG" && echo "$MEMLIMIT" >"$CG/memory.max"
	fi
	# shellcheck disable=SC2016
	sh -c 'echo $$ >"$1/cgroup.procs" && cp "$2" "$3" && exec "$3" run --config "$4"' sh "$CG" "$BIN" "$WORK/fenghuo" "$CFG" >"$WORK/gw.log" 2>&1 &
else
	"$BIN" run --config "$CFG" >"$WORK/gw.log" 2>&1 &
fi
GW=$!
PIDS+=("$GW")

polls() { curl -s "http://$METRICS/metrics" | awk '/^fenghuo_polls_total\{.*result="ok"/ {s += $2} END {print s + 0}'; }
cpu() { awk '{print $14 + $15}' "/proc/$GW/stat"; }
majflt() { awk '{print $12}' "/proc/$GW/stat"; }
sleep "$WARMUP"
kill -0 "$GW" || { echo "bench-scale: the daemon died:"; tail "$WORK/gw.log"; exit 1; }
p0=$(polls); c0=$(cpu); m0=$(majflt); t0=$(date +%s.%N)
peak=0
for _ in $(seq 1 "$WINDOW"); do
	kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$GW/status")
	[ "$kb" -gt "$peak" ] && peak=$kb
	sleep 1
done
p1=$(polls); c1=$(cpu); m1=$(majflt); t1=$(date +%s.%N)
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$GW/status")
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$GW/status")
anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$GW/status")
file=$(awk '/^RssFile:/ {print $2}' "/proc/$GW/status")
hz=$(getconf CLK_TCK)
/usr/bin/python3 - "$DEVICES" "$REGS" "$idle" "$p0" "$p1" "$c0" "$c1" "$t0" "$t1" "$hz" "$peak" "$hwm" "$rss" "$anon" "$file" "$m0" "$m1" "${MEMLIMIT:-}" <<'PY'
import sys
dev, regs, idle = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
p0, p1, c0, c1, t0, t1, hz = map(float, sys.argv[4:11])
peak, hwm, rss, anon, file, m0, m1 = (int(x) for x in sys.argv[11:18])
limit = sys.argv[18]
wall = t1 - t0
rate = (p1 - p0) / wall
points = 0 if idle else dev * regs
print(f"points {points:>7} ({'idle' if idle else f'{dev} devices x {regs} registers'} at 1 s)"
      f"  RSS {rss/1024:6.1f} MiB (anon {anon/1024:.1f} + file {file/1024:.1f}; peak sampled {peak/1024:.1f}, VmHWM {hwm/1024:.1f})"
      f"  CPU {100*(c1-c0)/hz/wall:5.1f}% of one core"
      f"  polls {rate:7.1f}/s of {dev} wanted ({100*rate/dev:.0f}%)"
      + (f"  {1024*rss/points:.0f} B/point" if points else "")
      + f"  major faults {(m1-m0)/wall:.1f}/s"
      + (f"  (memory limit {limit})" if limit else ""))
PY
