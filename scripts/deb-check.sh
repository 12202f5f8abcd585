#!/bin/sh
# Test of the .deb from `make deb` (run by .ci/run): usage: scripts/deb-check.sh [FILE.deb]
#
# 1. Without privileges: the control fields, the conffile, every file's mode and owner
#    in the archive; the contents unpacked (dpkg -x) into a temporary root, where the
#    binary runs `version` and checks the shipped config; the maintainer scripts pass
#    `sh -n`; the unit passes `systemd-analyze verify`.
# 2. As root, where the kernel allows a mount namespace and overlayfs: the real dpkg
#    installs, upgrades, removes and purges the package in a copy-on-write view of this
#    machine (an overlay over /, thrown away afterwards; the machine itself is not
#    changed), so the real postinst creates the user and sets the owners, and the
#    daemon's user can read its config while others cannot. systemd is not running
#    in that view, so the systemctl branches of the scripts are not exercised.
set -eu
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.."

fail() { printf 'deb-check: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'deb-check: ok: %s\n' "$*"; }

# The sandboxed install (part 2), run by this script itself inside `unshare --mount`.
if [ "${1:-}" = --sandbox ]; then
	deb=$2 tmp=$3
	m=$tmp/merged
	mkdir -p "$tmp/upper" "$tmp/work" "$m"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/upper,workdir=$tmp/work" "$m"
	mount -t proc proc "$m/proc"
	mount --rbind /dev "$m/dev"
	mount -t tmpfs tmpfs "$m/run" # no /run/systemd/system: the scripts skip systemctl
	cp "$deb" "$m/tmp/fenghuo.deb"
	inroot() { chroot "$m" "$@"; }
	st() { inroot stat -c '%a %U:%G' "$1"; }
	! inroot getent passwd fenghuo >/dev/null || fail "this machine already has a user fenghuo: the test needs a machine without"

	inroot dpkg -i /tmp/fenghuo.deb >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "dpkg -i"; }
	pw=$(inroot getent passwd fenghuo) || fail "postinst created no user fenghuo"
	[ "$(echo "$pw" | cut -d: -f6,7)" = /var/lib/fenghuo:/usr/sbin/nologin ] || fail "user fenghuo: $pw"
	inroot id -nG fenghuo | tr ' ' '\n' | grep -qx dialout || fail "fenghuo not in dialout: $(inroot id fenghuo)"
	[ "$(st /etc/fenghuo)" = "750 root:fenghuo" ] || fail "/etc/fenghuo: $(st /etc/fenghuo)"
	[ "$(st /etc/fenghuo/fenghuo.yaml)" = "640 root:fenghuo" ] || fail "fenghuo.yaml: $(st /etc/fenghuo/fenghuo.yaml)"
	[ "$(st /var/lib/fenghuo)" = "750 fenghuo:fenghuo" ] || fail "/var/lib/fenghuo: $(st /var/lib/fenghuo)"
	[ "$(inroot dpkg-statoverride --list | grep -c fenghuo)" = 3 ] || fail "statoverrides: $(inroot dpkg-statoverride --list)"
	inroot fenghuo version >/dev/null || fail "installed fenghuo does not run"
	inroot setpriv --reuid=fenghuo --regid=fenghuo --init-groups fenghuo config check /etc/fenghuo/fenghuo.yaml >"$tmp/log" 2>&1 ||
		{ cat "$tmp/log"; fail "the user fenghuo cannot check its config"; }
	if inroot setpriv --reuid=nobody --regid=nogroup --clear-groups cat /etc/fenghuo/fenghuo.yaml >/dev/null 2>&1; then
		fail "user nobody can read /etc/fenghuo/fenghuo.yaml"
	fi
	ok "dpkg -i: user fenghuo (nologin, dialout), owners and modes, config readable by fenghuo only"

	# A real outbox: the installed daemon, as its user, records a device_offline ticket
	# (a device on a closed port, R21 shortened to 1 s) that no broker takes.
	cat >"$m/tmp/upgrade.yaml" <<-'EOF'
	gateway: {id: gw-330502103-deb-01, site: {name: 升级测试, township_code: "330502103"}}
	buses: [{name: lan, type: tcp, address: "127.0.0.1:1", timeout: 100ms, retries: 0}]
	devices: [{id: smoke-1, name: 烟感, bus: lan, slave: 1, profile: smoke-detector, poll: 200ms}]
	uplink: {mqtt: {broker: "tcp://127.0.0.1:1", connect_spread: 0s}, telemetry: {enabled: false}}
	buffer: {path: /var/lib/fenghuo/outbox.db}
	local: {socket: "", metrics: ""}
	log: {level: warn}
	rules: [{id: R21, profiles: [smoke-detector], hazard: device_offline, type: offline, failures: 3, for: 1s, clear_samples: 3, level: 2}]
	EOF
	chmod 644 "$m/tmp/upgrade.yaml"
	run_daemon() {
		rc=0
		inroot setpriv --reuid=fenghuo --regid=fenghuo --init-groups timeout 6 fenghuo run --config /tmp/upgrade.yaml >"$tmp/log" 2>&1 || rc=$?
		[ "$rc" = 124 ] || { cat "$tmp/log"; fail "$1: the daemon exited ($rc) instead of running"; }
	}
	outbox() { # schema version and ticket records of the outbox
		inroot /usr/bin/python3 -c 'import sqlite3; c = sqlite3.connect("file:/var/lib/fenghuo/outbox.db?mode=ro", uri=True); print(c.execute("pragma user_version").fetchone()[0], c.execute("select count(*) from records where hazard = ?", ("device_offline",)).fetchone()[0])'
	}
	run_daemon "before the upgrade"
	before=$(outbox)
	[ "${before#* }" -ge 1 ] || fail "the daemon recorded no ticket before the upgrade (outbox: version, tickets = $before)"

	# Upgrade (the same package again): an edited config and the outbox with its records survive,
	# and the upgraded daemon opens that outbox (an outbox it cannot read is refused at start).
	echo '# edited on site' >>"$m/etc/fenghuo/fenghuo.yaml"
	inroot dpkg -i /tmp/fenghuo.deb >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "dpkg -i over an installed package"; }
	tail -n1 "$m/etc/fenghuo/fenghuo.yaml" | grep -qx '# edited on site' || fail "the upgrade replaced the edited config"
	[ "$(outbox)" = "$before" ] || fail "the upgrade changed the outbox: $before before, $(outbox) after"
	run_daemon "after the upgrade"
	after=$(outbox)
	[ "${after%% *}" = "${before%% *}" ] && [ "${after#* }" -ge "${before#* }" ] || fail "the upgraded daemon lost records: $before before, $after after"
	ok "upgrade keeps the outbox (schema version ${before%% *}, ${before#* } undelivered tickets) and the upgraded daemon opens it"
	[ "$(st /etc/fenghuo/fenghuo.yaml)" = "640 root:fenghuo" ] || fail "after upgrade fenghuo.yaml: $(st /etc/fenghuo/fenghuo.yaml)"
	[ "$(inroot getent passwd fenghuo)" = "$pw" ] || fail "the upgrade changed the user"
	ok "upgrade keeps the edited config, its owner and the user"

	inroot dpkg -r fenghuo >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "dpkg -r"; }
	[ ! -e "$m/usr/bin/fenghuo" ] || fail "dpkg -r left /usr/bin/fenghuo"
	[ -f "$m/etc/fenghuo/fenghuo.yaml" ] || fail "dpkg -r removed the config"
	inroot dpkg -P fenghuo >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "dpkg -P"; }
	[ ! -e "$m/etc/fenghuo/fenghuo.yaml" ] || fail "dpkg -P left the config"
	[ -f "$m/var/lib/fenghuo/outbox.db" ] || fail "dpkg -P removed the outbox"
	! inroot dpkg-statoverride --list | grep -q fenghuo || fail "dpkg -P left statoverrides: $(inroot dpkg-statoverride --list)"
	ok "remove keeps the config, purge removes it and keeps the outbox"
	exit 0
fi

deb=${1:-$(ls -t bin/fenghuo_*_amd64.deb 2>/dev/null | head -n1)}
[ -n "$deb" ] && [ -f "$deb" ] || fail "no .deb: run make deb first (or pass FILE.deb)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# 1a. Control fields and the conffile.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = fenghuo ] || fail "Package: $(field Package)"
case "$(field Version)" in [0-9]*) ;; *) fail "Version $(field Version) does not start with a digit" ;; esac
field Depends | grep -qw adduser || fail "Depends: $(field Depends) lacks adduser"
dpkg-deb -e "$deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = /etc/fenghuo/fenghuo.yaml ] || fail "conffiles: $(cat "$tmp/control/conffiles")"
for s in postinst prerm postrm; do
	[ -x "$tmp/control/$s" ] || fail "maintainer script $s missing or not executable"
	sh -n "$tmp/control/$s" || fail "$s: sh -n"
done
ok "$(basename "$deb"): control fields, conffile, maintainer scripts parse"

# 1b. Every file's mode and owner in the archive.
dpkg-deb -c "$deb" | awk '{ sub(/^\.\//, "", $6); print $1, $2, "/" $6 }' >"$tmp/list"
for want in \
	"-rwxr-xr-x root/root /usr/bin/fenghuo" \
	"-rw-r--r-- root/root /usr/lib/systemd/system/fenghuo.service" \
	"drwxr-x--- root/root /etc/fenghuo/" \
	"-rw-r----- root/root /etc/fenghuo/fenghuo.yaml" \
	"drwxr-x--- root/root /var/lib/fenghuo/"; do
	grep -qxF -- "$want" "$tmp/list" || fail "not in the package: $want; it has: $(grep "${want##* }" "$tmp/list" || echo nothing)"
done
ok "files and modes"

# 1c. Unpacked: the binary runs, the shipped config passes, the unit verifies.
dpkg -x "$deb" "$tmp/root"
"$tmp/root/usr/bin/fenghuo" version >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "the packaged binary does not run"; }
ok "$(cat "$tmp/log")"
"$tmp/root/usr/bin/fenghuo" config check "$tmp/root/etc/fenghuo/fenghuo.yaml" >"$tmp/log" 2>&1 ||
	{ cat "$tmp/log"; fail "the shipped config does not pass config check"; }
cmp -s configs/example.yaml "$tmp/root/etc/fenghuo/fenghuo.yaml" || fail "the conffile is not configs/example.yaml"
cmp -s scripts/packaging/fenghuo.service "$tmp/root/usr/lib/systemd/system/fenghuo.service" || fail "unit differs"
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|^ExecStart=/usr/bin/fenghuo |ExecStart=$tmp/root/usr/bin/fenghuo |" \
		"$tmp/root/usr/lib/systemd/system/fenghuo.service" >"$tmp/fenghuo.service"
	out=$(systemd-analyze verify "$tmp/fenghuo.service" 2>&1) || { echo "$out"; fail "systemd-analyze verify"; }
	[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify warns"; }
fi
ok "dpkg -x: binary runs, shipped config checks, unit verifies"

# 2. The real dpkg in a throw-away overlay of this machine.
if [ "$(id -u)" -ne 0 ]; then
	ok "SKIP dpkg -i/-r/-P in an overlay (not root)"
elif ! unshare --mount true 2>/dev/null; then
	ok "SKIP dpkg -i/-r/-P in an overlay (no mount namespace here)"
else
	unshare --mount --propagation private "$self" --sandbox "$deb" "$tmp/sandbox" ||
		fail "dpkg -i/-r/-P in an overlay (above)"
fi
echo "deb-check: passed"
