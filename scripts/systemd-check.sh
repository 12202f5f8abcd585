#!/bin/sh
# The .deb's hardened unit under a real systemd: usage: scripts/systemd-check.sh [FILE.deb]
#
# Boots a minimal Debian (debootstrap; FENGHUO_ROOTFS=DIR reuses one) in systemd-nspawn
# with the package installed and the unit enabled on the example config, and checks from
# inside: the daemon runs under every hardening option as user fenghuo, /run/fenghuo and the
# socket have their modes, a member of the group fenghuo gets `fenghuo diag status` and
# anyone else the permission message, the outbox backup of docs/operations.md works,
# and after a SIGKILL systemd starts the daemon again. Needs root, debootstrap and
# systemd-container; skips when not root, or without them (then fails under CI=true).
# About a minute (debootstrap), 12 s with FENGHUO_ROOTFS.
set -eu
cd "$(dirname "$0")/.."

fail() { printf 'systemd-check: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'systemd-check: ok: %s\n' "$*"; }
skip() {
	[ "${CI:-}" = true ] && fail "$*"
	ok "SKIP: $*"
	exit 0
}
if [ "$(id -u)" -ne 0 ]; then
	ok "SKIP: not root (nspawn and chroot need it)"
	exit 0
fi
command -v systemd-nspawn >/dev/null 2>&1 || skip "no systemd-nspawn (apt-get install systemd-container)"
deb=${1:-$(ls -t bin/fenghuo_*_amd64.deb 2>/dev/null | head -n1)}
[ -n "$deb" ] && [ -f "$deb" ] || fail "no .deb: run make deb first (or pass FILE.deb)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
r=$tmp/rootfs
if [ -n "${FENGHUO_ROOTFS:-}" ] && [ -x "${FENGHUO_ROOTFS}/bin/systemctl" ]; then
	cp -a "$FENGHUO_ROOTFS" "$r"
else
	command -v debootstrap >/dev/null 2>&1 || skip "no debootstrap (apt-get install debootstrap)"
	debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,adduser,sqlite3 \
		bookworm "$r" http://deb.debian.org/debian >"$tmp/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$tmp/debootstrap.log"; fail "debootstrap"; }
	if [ -n "${FENGHUO_ROOTFS:-}" ]; then
		rm -rf "$FENGHUO_ROOTFS" && cp -a "$r" "$FENGHUO_ROOTFS"
	fi
fi

cp "$deb" "$r/tmp/fenghuo.deb"
chroot "$r" dpkg -i /tmp/fenghuo.deb >"$tmp/log" 2>&1 || { cat "$tmp/log"; fail "dpkg -i in the rootfs"; }
chroot "$r" systemctl enable fenghuo.service >/dev/null 2>&1
chroot "$r" useradd --create-home --groups fenghuo alice
echo fenghuo-check >"$r/etc/hostname"
mkdir -p "$r/probe"
# The probe runs once the daemon is up, writes what it sees to /probe and powers off.
cat >"$r/usr/local/bin/probe" <<'EOF'
#!/bin/sh
cd /probe
for i in $(seq 60); do [ -S /run/fenghuo/fenghuo.sock ] && break; sleep 1; done
systemctl show fenghuo -p ActiveState -p MainPID -p User >show1
stat -c '%a %U:%G %n' /run/fenghuo /run/fenghuo/fenghuo.sock /var/lib/fenghuo /var/lib/fenghuo/outbox.db >stat
pid=$(systemctl show fenghuo -p MainPID --value)
{
	stat -c '%U' "/proc/$pid"
	getent group "$(awk '/^Gid:/ { print $2 }' "/proc/$pid/status")" | cut -d: -f1
	for g in $(awk '/^Groups:/ { for (i = 2; i <= NF; i++) print $i }' "/proc/$pid/status"); do
		getent group "$g" | cut -d: -f1
	done | sort | paste -sd, -
} | paste -sd' ' - >ids
grep -E '^(CapEff|NoNewPrivs|Seccomp):' "/proc/$pid/status" >proc
runuser -u alice -- fenghuo diag status >alice 2>&1; echo $? >alice.rc
runuser -u nobody -- fenghuo diag status >nobody 2>&1; echo $? >nobody.rc
runuser -u fenghuo -- sqlite3 /var/lib/fenghuo/outbox.db ".backup '/var/lib/fenghuo/outbox-backup.db'" >backup 2>&1
sqlite3 /var/lib/fenghuo/outbox-backup.db 'PRAGMA integrity_check; SELECT count(*) >= 0 FROM records;' >>backup 2>&1
pid=$(systemctl show fenghuo -p MainPID --value)
systemctl kill -s SIGKILL fenghuo
for i in $(seq 60); do
	new=$(systemctl show fenghuo -p MainPID --value)
	[ "$new" != 0 ] && [ "$new" != "$pid" ] && [ -S /run/fenghuo/fenghuo.sock ] && break
	sleep 1
done
systemctl show fenghuo -p ActiveState -p NRestarts >show2
echo "$pid $new" >pids
systemd-analyze security fenghuo.service 2>&1 | tail -n 1 >security
journalctl -u fenghuo --no-pager >journal 2>&1
echo done >done
systemctl poweroff
EOF
chmod 0755 "$r/usr/local/bin/probe"
cat >"$r/etc/systemd/system/probe.service" <<'EOF'
[Unit]
After=fenghuo.service
[Service]
Type=oneshot
ExecStart=/usr/local/bin/probe
[Install]
WantedBy=multi-user.target
EOF
chroot "$r" systemctl enable probe.service >/dev/null 2>&1

timeout 300 systemd-nspawn --quiet --register=no --keep-unit --machine=fenghuo-check -D "$r" --boot \
	>"$tmp/boot.log" 2>&1 || true
p=$r/probe
[ -f "$p/done" ] || { tail -n 40 "$tmp/boot.log"; fail "the probe did not finish (boot log above)"; }
show() { cat "$p/$1"; }

grep -qx ActiveState=active "$p/show1" || { show journal; fail "fenghuo.service not active: $(show show1)"; }
grep -qx User=fenghuo "$p/show1" || fail "not run as fenghuo: $(show show1)"
[ "$(show ids)" = "fenghuo fenghuo dialout,fenghuo" ] || fail "user, group, supplementary groups: $(show ids)"
grep -q '^CapEff:[[:space:]]*0000000000000000$' "$p/proc" || fail "capabilities: $(show proc)"
grep -q '^NoNewPrivs:[[:space:]]*1$' "$p/proc" || fail "no_new_privs: $(show proc)"
grep -q '^Seccomp:[[:space:]]*2$' "$p/proc" || fail "no seccomp filter: $(show proc)"
ok "runs as fenghuo:fenghuo (+dialout), no capabilities, no_new_privs, seccomp filter"
for want in "750 fenghuo:fenghuo /run/fenghuo" "660 fenghuo:fenghuo /run/fenghuo/fenghuo.sock" \
	"750 fenghuo:fenghuo /var/lib/fenghuo" "640 fenghuo:fenghuo /var/lib/fenghuo/outbox.db"; do
	grep -qxF "$want" "$p/stat" || fail "want $want; have: $(show stat)"
done
ok "/run/fenghuo 0750, socket 0660, outbox written in /var/lib/fenghuo"
grep -q '^gateway  *gw-330502103-yuncun-01$' "$p/alice" || fail "diag status for a member of fenghuo: $(show alice)"
grep -q 'permission denied on /run/fenghuo/fenghuo.sock' "$p/nobody" && [ "$(show nobody.rc)" != 0 ] ||
	fail "diag status for nobody: $(show nobody)"
ok "diag status for a member of the group; a clear refusal for others"
[ "$(show backup)" = "$(printf 'ok\n1')" ] || fail "outbox backup: $(show backup)"
ok "outbox backup with sqlite3 .backup as user fenghuo passes integrity_check"
set -- $(show pids)
[ "$1" != "$2" ] && grep -qx ActiveState=active "$p/show2" && grep -qx NRestarts=1 "$p/show2" ||
	{ show journal | tail -n 20; fail "not restarted after SIGKILL: pids $*, $(show show2)"; }
ok "restarted by systemd after SIGKILL (Restart=always)"
ok "$(show security)"
echo "systemd-check: passed"
