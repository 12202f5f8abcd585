#!/bin/sh
# Install fenghuo on a gateway: the system user, the directories and their
# permissions, the binary, the site config (validated before it is put in place),
# the hardened systemd unit, enabled and started.
#
#   sudo scripts/install.sh --config site.yaml        # first install
#   sudo scripts/install.sh                           # upgrade: new binary and unit, config kept
#   sudo scripts/install.sh --config new.yaml --force # replace the config (old one kept as .bak)
#   scripts/install.sh --root /tmp/rootfs --config site.yaml   # into an image or a test root
#
# Idempotent: a second run with the same files changes nothing. Nothing is
# touched until the binary runs and the config passes `fenghuo config check`.
# docs/operations.md describes the result.
set -eu

usage() {
	cat <<'EOF'
usage: scripts/install.sh [--config FILE] [--bin FILE] [--root DIR] [--force] [--no-enable] [--check-with BIN]

  --config FILE     site config to install as /etc/fenghuo/fenghuo.yaml; checked with
                    `fenghuo config check` first. Without it an existing config is kept
                    (and checked with the new binary); on a fresh gateway the example is
                    put beside it as fenghuo.yaml.example and the unit is not enabled.
  --bin FILE        the fenghuo binary to install (default: bin/fenghuo, from `make build`)
  --root DIR        install below DIR instead of / (also: DESTDIR=DIR); systemctl is then
                    only used offline (`systemctl --root DIR enable`)
  --force           replace an existing, different config (the old one is kept as .bak)
  --no-enable       install only: do not enable or (re)start the unit
  --check-with BIN  the binary that runs `config check` (default: --bin); for a --bin of
                    another architecture, e.g. bin/fenghuo-linux-arm64 into an image
Environment: BINDIR (default /usr/local/bin).
EOF
}

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
config=""
bin="$src/bin/fenghuo"
root="${DESTDIR:-}"
force=no
enable=yes
check=""
while [ $# -gt 0 ]; do
	case "$1" in
	--config) [ $# -ge 2 ] || die "--config needs a FILE"; config=$2; shift 2 ;;
	--bin) [ $# -ge 2 ] || die "--bin needs a FILE"; bin=$2; shift 2 ;;
	--root) [ $# -ge 2 ] || die "--root needs a DIR"; root=$2; shift 2 ;;
	--check-with) [ $# -ge 2 ] || die "--check-with needs a BIN"; check=$2; shift 2 ;;
	--force) force=yes; shift ;;
	--no-enable) enable=no; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ -n "$check" ] || check=$bin
bindir=${BINDIR:-/usr/local/bin}
unit_src="$here/packaging/fenghuo.service"
example="$src/configs/example.yaml"

# The target root: "" for the running system, else an absolute DIR without a trailing /.
if [ -n "$root" ]; then
	[ -d "$root" ] || die "--root $root: not a directory"
	root=$(cd "$root" && pwd)
	[ "$root" = / ] && root=""
fi
R=$root
[ -n "$R" ] || [ "$(id -u)" -eq 0 ] || die "installing into / needs root: sudo $0 ... (or --root DIR for a directory)"

# 1. Check everything before changing anything.
[ -f "$bin" ] || die "binary $bin not found: run \`make build\` (or pass --bin FILE)"
[ -f "$unit_src" ] || die "unit $unit_src not found: run this script from a fenghuo source tree"
if ! ver=$("$check" version 2>&1); then
	die "$check does not run here ($ver); for a binary of another architecture pass --check-with a native fenghuo"
fi
say "binary $bin: $ver"

conf_dst="$R/etc/fenghuo/fenghuo.yaml"
if [ -n "$config" ]; then
	[ -f "$config" ] || die "config $config not found"
	if ! out=$("$check" config check "$config" 2>&1); then
		printf '%s\n' "$out" >&2
		die "config $config is not valid (above): nothing installed"
	fi
	say "config $config: $out"
	if [ -f "$conf_dst" ] && ! cmp -s "$config" "$conf_dst" && [ $force = no ]; then
		die "$conf_dst exists and differs from $config: not replacing it without --force (nothing installed)"
	fi
elif [ -f "$conf_dst" ]; then
	# An upgrade: the config in place must suit the new binary before it is restarted.
	if ! out=$("$check" config check "$conf_dst" 2>&1); then
		printf '%s\n' "$out" >&2
		die "the installed $conf_dst is not valid for $ver (above): fix it, or pass --config FILE; nothing installed"
	fi
	say "config $conf_dst (kept): $out"
fi

# 2. The user and groups. On the running system as root, or in a --root that has
# its own etc/passwd (an image) through useradd --prefix; else skipped.
user_ok=no
if [ "$(id -u)" -ne 0 ]; then
	say "not root: the user fenghuo is not created and owners are not set (modes are)"
elif [ -n "$R" ] && ! { [ -f "$R/etc/passwd" ] && [ -f "$R/etc/group" ]; }; then
	say "$R has no etc/passwd and etc/group: the user fenghuo is not created and owners are not set"
else
	# acct CMD ARGS...: groupadd, useradd or usermod on the target root's own files.
	acct() {
		c=$1
		shift
		if [ -n "$R" ]; then "$c" --prefix "$R" "$@"; else "$c" "$@"; fi
	}
	if ! grep -q '^fenghuo:' "$R/etc/group"; then
		acct groupadd --system fenghuo
		say "group fenghuo created"
	fi
	if ! grep -q '^fenghuo:' "$R/etc/passwd"; then
		acct useradd --system --gid fenghuo --home-dir /var/lib/fenghuo --no-create-home \
			--shell /usr/sbin/nologin --comment 'fenghuo gateway' fenghuo
		say "user fenghuo created (no login shell, home /var/lib/fenghuo)"
	fi
	if grep -q '^dialout:' "$R/etc/group"; then
		if ! grep '^dialout:' "$R/etc/group" | cut -d: -f4 | tr , '\n' | grep -qx fenghuo; then
			acct usermod -aG dialout fenghuo
			say "user fenghuo added to dialout (serial ports)"
		fi
	else
		say "warning: no group dialout; the unit's SupplementaryGroups=dialout will fail: create it for the serial ports"
	fi
	user_ok=yes
fi

# own OWNER:GROUP PATH: chown by the ids of the target root's own passwd and group.
own() {
	[ $user_ok = yes ] || return 0
	u=$(awk -F: -v n="${1%%:*}" '$1 == n { print $3 }' "$R/etc/passwd")
	g=$(awk -F: -v n="${1#*:}" '$1 == n { print $3 }' "$R/etc/group")
	chown "$u:$g" "$2"
}

# put SRC DST MODE OWNER:GROUP: install a file atomically (a running binary is
# replaced, not overwritten); prints whether it changed.
changed=no
put() {
	if [ -f "$2" ] && cmp -s "$1" "$2"; then
		chmod "$3" "$2"
		own "$4" "$2"
		say "$2 unchanged"
		return 0
	fi
	cp "$1" "$2.new"
	chmod "$3" "$2.new"
	own "$4" "$2.new"
	mv -f "$2.new" "$2"
	changed=yes
	say "$2 installed"
}

# 3. Directories. /run/fenghuo is the unit's RuntimeDirectory.
mkdir -p "$R$bindir" "$R/etc/systemd/system" "$R/etc/fenghuo" "$R/var/lib/fenghuo"
chmod 0750 "$R/etc/fenghuo" "$R/var/lib/fenghuo"
own root:fenghuo "$R/etc/fenghuo"
own fenghuo:fenghuo "$R/var/lib/fenghuo"

# 4. Files.
put "$bin" "$R$bindir/fenghuo" 0755 root:root
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
sed "s|^ExecStart=/usr/bin/fenghuo |ExecStart=$bindir/fenghuo |" "$unit_src" >"$tmp"
put "$tmp" "$R/etc/systemd/system/fenghuo.service" 0644 root:root
if [ -n "$config" ]; then
	if [ -f "$conf_dst" ] && ! cmp -s "$config" "$conf_dst"; then
		cp -p "$conf_dst" "$conf_dst.bak"
		say "previous config kept as $conf_dst.bak"
	fi
	put "$config" "$conf_dst" 0640 root:fenghuo
elif [ ! -f "$conf_dst" ]; then
	put "$example" "$conf_dst.example" 0640 root:fenghuo
	say "no config yet: edit a copy of $conf_dst.example for this site, then run"
	say "  sudo scripts/install.sh --config SITE.yaml"
	enable=no
fi

# 5. systemd.
if [ $enable = no ]; then
	say "unit not enabled"
elif ! command -v systemctl >/dev/null 2>&1; then
	say "no systemctl here: enable fenghuo.service by hand (or start \`$bindir/fenghuo run --config /etc/fenghuo/fenghuo.yaml\` as user fenghuo)"
elif [ -n "$R" ]; then
	systemctl --root "$R" enable fenghuo.service >/dev/null 2>&1 || die "systemctl --root $R enable fenghuo.service failed"
	say "fenghuo.service enabled in $R (starts at its next boot)"
elif [ ! -d /run/systemd/system ]; then
	systemctl enable fenghuo.service >/dev/null 2>&1 || true
	say "systemd is not running here (a container?): enabled for the next boot, not started"
else
	systemctl daemon-reload
	systemctl enable fenghuo.service
	if [ $changed = yes ]; then
		systemctl restart fenghuo.service
		say "fenghuo.service (re)started"
	else
		systemctl start fenghuo.service
		say "fenghuo.service running"
	fi
	say "logs: journalctl -u fenghuo -f; state: fenghuo diag status"
fi
