#!/usr/bin/env bash
# Runs fenghuo's benchmarks and prints their numbers (no pass/fail on time).
# Takes about ten minutes; every part can be shortened with the variables below.
#
#   scripts/bench.sh
#   FENGHUO_BENCH_POLL=1s ALARM_RUNS=100 scripts/bench.sh   alarm latency at the default poll
#   FENGHUO_DRAIN_BACKLOG=20000 RSS_N=0 scripts/bench.sh    a quick run without the 1 M drain
#   FENGHUO_BENCH_NODELAY=0 scripts/bench.sh   the alarm latency with mosquitto's default (Nagle on)
#
# What to read (issue 5 targets in brackets):
#   BenchmarkAppend     events/s: durable enqueues, group commit on and off, 1/64/256 appenders [≥ 20 000/s]
#   BenchmarkDrain      msg/s: a 100 000-ticket backlog to mosquitto at QoS 1, by window [≥ 5 000 msg/s]
#   BenchmarkAlarmToTicket  register change in a simulated detector → ticket at a subscriber,
#                       p50/p99 over 2×ALARM_RUNS changes, and the gateway's own pipeline share
#                       (outbox commit → publish → PUBACK → subscriber) [p99 ≤ poll + 100 ms]
#   scripts/rss.sh      peak RSS while draining RSS_N tickets (1 000 000) [≤ 64 MiB]
# Needs mosquitto (Debian package).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" -timeout 30m ./rules/ ./drivers/... ./uplink/...
FENGHUO_BENCH_POLL=${FENGHUO_BENCH_POLL:-500ms} FENGHUO_BENCH_NODELAY=${FENGHUO_BENCH_NODELAY:-1} \
	go test -run '^$' -bench AlarmToTicket -benchtime "${ALARM_RUNS:-100}x" -timeout 30m ./gateway/daemon/
if [ "${RSS_N:-1000000}" -gt 0 ]; then
	N=${RSS_N:-1000000} scripts/rss.sh
fi
