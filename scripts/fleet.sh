#!/usr/bin/env bash
# Reconnect storm figures (issue 13, item 5): 1 000 gateway links, each a real
# mqttlink.Link with its own SQLite outbox, against one mosquitto restarted
# mid-run (the fleet test, uplink/mqttlink/fleet_linux_test.go, with
# FENGHUO_FLEET=1), once with each connect spread, so its effect is visible.
# Numbers only, no pass/fail on them. About 5 minutes (4 runs of 1 000 gateways).
#
#   scripts/fleet.sh                       spreads 10s and 0s, restarts of ~1 s and of 5 s
#   SPREADS="10s 5s 0s" DOWNS=0s scripts/fleet.sh
#
# What to read:
#   first connect      all links started at once (a county powering up)
#   broker down        mosquitto stopped, one ticket appended per gateway, held stopped
#                      until DOWN has passed, started again
#   all reconnected    from the stop until every link has a session again
#   peak/s, peak/100ms CONNECTs forwarded by a TCP proxy in front of mosquitto, in
#                      fixed windows from the stop; "log/s" is mosquitto's own log
#   bound/s            what the fleet test asserts with a spread (see reconnectBound)
# Needs mosquitto (Debian package).
set -euo pipefail
cd "$(dirname "$0")/.."

printf '%-7s %5s %8s %8s %11s %8s %11s %13s %8s %7s %10s %7s %7s\n' spread down gateways tickets \
	first_all_s first/s first/100ms broker_down_s reconn_s peak/s peak/100ms log/s bound/s
for down in ${DOWNS:-0s 5s}; do
	for spread in ${SPREADS:-10s 0s}; do
		if ! out=$(FENGHUO_FLEET=1 FENGHUO_FLEET_SPREAD=$spread FENGHUO_FLEET_DOWN=$down go test -count=1 -timeout 10m \
			-run '^TestFleetReconnectStorm$' -v ./uplink/mqttlink/ 2>&1); then
			echo "$out" | tail -30 >&2
			echo "fleet.sh: the fleet run with spread $spread failed (output above)" >&2
			exit 1
		fi
		# FLEET lines carry key=value pairs; the first_connect line's peaks are
		# renamed so they do not collide with the restart's.
		echo "$out" | grep -o 'FLEET .*' | awk -v spread="$spread" -v down="$down" '
			/first_connect/ { gsub(/peak_/, "first_peak_") }
			{ for (i = 2; i <= NF; i++) if (split($i, kv, "=") == 2) v[kv[1]] = kv[2] }
			END {
				sub(/s$/, "", v["all_connected"]); sub(/s$/, "", v["broker_down"]); sub(/s$/, "", v["all_reconnected"])
				bound = (spread ~ /^0[a-z]*$/) ? "-" : v["bound_1s"]
				printf "%-7s %5s %8s %8s %11s %8s %11s %13s %8s %7s %10s %7s %7s\n", spread, down, v["gateways"], v["tickets"],
					v["all_connected"], v["first_peak_1s"], v["first_peak_100ms"], v["broker_down"], v["all_reconnected"],
					v["peak_1s"], v["peak_100ms"], v["peak_1s_mosquitto_log"], bound
			}'
	done
done
