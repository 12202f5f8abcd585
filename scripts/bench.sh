#!/usr/bin/env bash
# Runs fenghuo's benchmarks and prints their numbers (no pass/fail on time).
#   scripts/bench.sh            all benchmarks
#   FENGHUO_BENCH_POLL=100ms scripts/bench.sh   the alarm benchmark at another poll interval
# BenchmarkAlarmToTicket needs mosquitto (Debian package) and reports:
#   alarm_ms     register change in the simulated detector → ticket at an MQTT subscriber
#   pipeline_ms  outbox commit → publish → PUBACK → subscriber (the gateway's own share)
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" ./rules/ ./drivers/... ./uplink/...
go test -run '^$' -bench AlarmToTicket -benchtime "${ALARM_RUNS:-10}x" ./gateway/daemon/
