#!/bin/sh
# Builds the release binaries (`make cross`: linux amd64, arm64, armv7 with cgo) and
# checks that each starts on its architecture under qemu-user: `fenghuo version` and
# `fenghuo config check` of the shipped configs; then runs the SQLite outbox's tests
# (the cgo part, built with the same tags) as arm64 and armv7 binaries under qemu.
# Prints each binary's size, whether it is static (else the newest glibc it needs)
# and the build time. Run by .ci/run after
# `make test`; needs gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf and qemu-user.
set -eu
cd "$(dirname "$0")/.."

fail() { printf 'cross-check: FAIL: %s\n' "$*" >&2; exit 1; }
for c in aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc qemu-aarch64 qemu-arm; do
	command -v $c >/dev/null 2>&1 ||
		fail "$c missing: apt-get install gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf qemu-user"
done

start=$(date +%s)
make -j3 cross  # three cgo builds (SQLite) at once: about half the cold time on 2 cores
echo "cross-check: make cross took $(($(date +%s) - start)) s"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# run ARCH BIN ARGS...: BIN under qemu-user with that architecture's Debian libc.
run() {
	a=$1
	shift
	case $a in
	amd64) "$@" ;;
	arm64) qemu-aarch64 -L /usr/aarch64-linux-gnu "$@" ;;
	armv7) qemu-arm -L /usr/arm-linux-gnueabihf "$@" ;;
	esac
}
for a in amd64 arm64 armv7; do
	b=bin/fenghuo-linux-$a
	want=$(case $a in amd64) echo x86-64 ;; arm64) echo aarch64 ;; armv7) echo 'ARM, EABI5' ;; esac)
	file -b "$b" 2>/dev/null | grep -q "$want" || fail "$b is not a $want binary: $(file -b "$b" 2>&1)"
	v=$(run $a "$b" version) || fail "$b version"
	for c in configs/example.yaml configs/demo.yaml; do
		run $a "$b" config check "$c" >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "$b config check $c"; }
	done
	# Static (make cross): no libc of the board's needed; else the newest glibc symbol used.
	if file -b "$b" | grep -q 'statically linked'; then
		libc=static
	else
		libc=$(objdump -T "$b" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1)
	fi
	printf 'cross-check: ok %-28s %6.1f MiB  %-11s %s\n' "$b" \
		"$(stat -c %s "$b" | awk '{ print $1 / 1048576 }')" "$libc" "$v"
done

# The outbox's own tests on ARM: SQLite (cgo) with WAL and file locks, not only a start,
# built with make cross's tags (so SQLite is compiled as in the release binaries, and once).
tags=$(sed -n 's/^CROSS_TAGS *:= *//p' Makefile)
[ -n "$tags" ] || fail "CROSS_TAGS not found in the Makefile"
for a in arm64 armv7; do
	case $a in
	arm64) env="GOARCH=arm64 CC=aarch64-linux-gnu-gcc" ;;
	armv7) env="GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc" ;;
	esac
	# shellcheck disable=SC2086 # $env is several VAR=value words
	env GOOS=linux CGO_ENABLED=1 $env go test -c -trimpath -tags "$tags" -o "$tmp/outbox-$a.test" ./uplink/outbox/sqlite/
	run $a "$tmp/outbox-$a.test" -test.count=1 >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "outbox tests on $a"; }
	echo "cross-check: ok uplink/outbox/sqlite tests pass on $a (qemu)"
done
echo "cross-check: passed in $(($(date +%s) - start)) s"
