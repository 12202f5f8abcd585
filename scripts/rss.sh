#!/usr/bin/env bash
# Peak memory while draining a large backlog (issue 5, target ≤ 64 MiB):
# fills a SQLite outbox with N tickets (1 000 000 by default), then drains it
# to a local mosquitto at QoS 1 in a child process (scripts/drainrss, the
# gateway's own outbox and link) while this script samples the child's
# /proc/PID/status every 0.5 s. Prints the peak VmHWM and the drain rate.
# Numbers only, no pass/fail. Minutes, not part of `make test`.
#
#   scripts/rss.sh                 1 000 000 tickets
#   N=100000 scripts/rss.sh
#
# Needs mosquitto (Debian package) and about 1.5 GB of free disk per million.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { echo "rss: mosquitto is required" >&2; exit 2; }
MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
WORK=$(mktemp -d /tmp/fenghuo-rss.XXXXXX)
MQ=
CHILD=
cleanup() {
	[ -n "$CHILD" ] && kill "$CHILD" 2>/dev/null || true
	[ -n "$MQ" ] && kill "$MQ" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$WORK/drainrss" ./scripts/drainrss
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
	echo "listener $PORT 127.0.0.1"
	echo "allow_anonymous true"
	[ "$(id -u)" = 0 ] && echo "user root"
} >"$WORK/mosquitto.conf"
"$MOSQ" -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 &
MQ=$!

"$WORK/drainrss" fill -db "$WORK/outbox.db" -n "$N"
echo "outbox: $(du -h "$WORK/outbox.db" | cut -f1)"
"$WORK/drainrss" drain -db "$WORK/outbox.db" -broker "tcp://127.0.0.1:$PORT" &
CHILD=$!
peak=0
while kill -0 "$CHILD" 2>/dev/null; do
	kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$CHILD/status" 2>/dev/null || echo 0)
	[ "${kb:-0}" -gt "$peak" ] && peak=$kb
	sleep 0.5
done
wait "$CHILD"
CHILD=
echo "drain of $N tickets: peak RSS (VmHWM sampled from /proc) $((peak / 1024)) MiB ($peak kB)"
