#!/usr/bin/env bash
# Load figures of `fenghuo station serve` (issue 12, "Load in your note"):
# GATEWAYS simulated gateways (each its own MQTT connection, a retained
# status heartbeat every 30 s) and alarms at RATE per second over random
# gateways for DURATION seconds, into one instance on SQLite, then two instances on
# PostgreSQL behind a shared subscription ($share/load/…). Prints, per
# setup, the latency from a gateway's publish to the order listed by
# GET /api/orders (polled every 100 ms), each instance's CPU (% of one
# core over the run) and RSS, and PostgreSQL's CPU. Numbers only, no
# pass/fail. The fleet and the observer run in the test process, beside
# the instances, on the same machine.
#
#   scripts/station-load.sh                      GATEWAYS=500 RATE=20 DURATION=40
#   GATEWAYS=100 DURATION=10 scripts/station-load.sh
#
# Needs mosquitto and postgresql (Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
FENGHUO_STATION_LOAD=1 \
FENGHUO_LOAD_GATEWAYS=${GATEWAYS:-500} \
FENGHUO_LOAD_RATE=${RATE:-20} \
FENGHUO_LOAD_SECONDS=${DURATION:-40} \
	go test -count=1 -timeout 10m -run '^TestLoad$' -v ./uplink/station/serve/scaletest/ | grep '^LOAD'
