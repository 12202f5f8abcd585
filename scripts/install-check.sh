#!/bin/sh
# Test of scripts/install.sh into temporary roots (run by .ci/run after `make build`):
# a fresh root without a config, a bad config refused before anything is placed,
# the site config with its modes and the unit enabled offline, an idempotent rerun,
# a different config refused without --force and replaced with it, and, as root,
# the user fenghuo created in a root with its own etc/passwd, owners set by its ids.
# The unit is checked with systemd-analyze verify where that exists, and, as root, the
# script installs onto / in a throw-away overlay of this machine.
set -eu
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.."

fail() { printf 'install-check: FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf 'install-check: ok: %s\n' "$*"; }

# Onto / itself, in a copy-on-write view of this machine (an overlay over /, inside
# `unshare --mount`, thrown away afterwards): run by this script itself as root.
if [ "${1:-}" = --sandbox ]; then
	tmp=$2
	m=$tmp/merged
	mkdir -p "$tmp/upper" "$tmp/work" "$m"
	mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/upper,workdir=$tmp/work" "$m"
	mount -t proc proc "$m/proc"
	mount --rbind /dev "$m/dev"
	mount -t tmpfs tmpfs "$m/run" # no /run/systemd/system: systemd "not running"
	s=$m/tmp/fenghuo-src
	mkdir -p "$s/bin" "$s/scripts/packaging" "$s/configs"
	cp bin/fenghuo "$s/bin/"
	cp scripts/install.sh "$s/scripts/"
	cp scripts/packaging/fenghuo.service "$s/scripts/packaging/"
	cp configs/example.yaml "$s/configs/"
	inroot() { chroot "$m" "$@"; }
	st() { inroot stat -c '%a %U:%G' "$1"; }
	! inroot getent passwd fenghuo >/dev/null || fail "this machine already has a user fenghuo: the test needs one without"
	inroot /tmp/fenghuo-src/scripts/install.sh --config /tmp/fenghuo-src/configs/example.yaml >"$tmp/log" 2>&1 ||
		{ cat "$tmp/log"; fail "install.sh onto /"; }
	pw=$(inroot getent passwd fenghuo) || fail "no user fenghuo"
	[ "$(echo "$pw" | cut -d: -f6,7)" = /var/lib/fenghuo:/usr/sbin/nologin ] || fail "user fenghuo: $pw"
	inroot id -nG fenghuo | tr ' ' '\n' | grep -qx dialout || fail "fenghuo not in dialout: $(inroot id fenghuo)"
	[ "$(st /etc/fenghuo)" = "750 root:fenghuo" ] || fail "/etc/fenghuo: $(st /etc/fenghuo)"
	[ "$(st /etc/fenghuo/fenghuo.yaml)" = "640 root:fenghuo" ] || fail "fenghuo.yaml: $(st /etc/fenghuo/fenghuo.yaml)"
	[ "$(st /var/lib/fenghuo)" = "750 fenghuo:fenghuo" ] || fail "/var/lib/fenghuo: $(st /var/lib/fenghuo)"
	[ "$(st /usr/local/bin/fenghuo)" = "755 root:root" ] || fail "binary: $(st /usr/local/bin/fenghuo)"
	inroot setpriv --reuid=fenghuo --regid=fenghuo --init-groups /usr/local/bin/fenghuo config check /etc/fenghuo/fenghuo.yaml \
		>/dev/null 2>&1 || fail "the user fenghuo cannot check its config"
	if command -v systemctl >/dev/null 2>&1; then
		grep -q 'systemd is not running here' "$tmp/log" || { cat "$tmp/log"; fail "no word that systemd does not run"; }
		[ -L "$m/etc/systemd/system/multi-user.target.wants/fenghuo.service" ] || fail "unit not enabled for the next boot"
	fi
	inroot /tmp/fenghuo-src/scripts/install.sh --config /tmp/fenghuo-src/configs/example.yaml >"$tmp/log" 2>&1 ||
		{ cat "$tmp/log"; fail "install.sh onto / again"; }
	! grep -q ' installed$\|created' "$tmp/log" || { cat "$tmp/log"; fail "a rerun onto / changed something"; }
	exit 0
fi
# mode PATH: the octal mode and owner:group (numeric) of PATH
mode() { stat -c '%a %u:%g' "$1"; }
want_mode() { got=$(stat -c %a "$1") && [ "$got" = "$2" ] || fail "$1 has mode ${got:-none}, want $2"; }

[ -x bin/fenghuo ] || fail "bin/fenghuo missing: run make build first"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log=$tmp/log

# 1. A fresh root and no config: binary, unit and example in place, not enabled.
r=$tmp/fresh
mkdir "$r"
scripts/install.sh --root "$r" >"$log" 2>&1 || { cat "$log"; fail "fresh install exited $?"; }
[ -x "$r/usr/local/bin/fenghuo" ] || fail "binary not installed"
"$r/usr/local/bin/fenghuo" version >/dev/null || fail "installed binary does not run"
want_mode "$r/usr/local/bin/fenghuo" 755
want_mode "$r/etc/fenghuo" 750
want_mode "$r/var/lib/fenghuo" 750
want_mode "$r/etc/fenghuo/fenghuo.yaml.example" 640
want_mode "$r/etc/systemd/system/fenghuo.service" 644
[ ! -e "$r/etc/fenghuo/fenghuo.yaml" ] || fail "a config was put in place without --config"
[ ! -e "$r/etc/systemd/system/multi-user.target.wants/fenghuo.service" ] || fail "enabled without a config"
grep -qx 'ExecStart=/usr/local/bin/fenghuo run --config /etc/fenghuo/fenghuo.yaml' "$r/etc/systemd/system/fenghuo.service" ||
	fail "unit ExecStart not rewritten to /usr/local/bin"
ok "fresh root without a config"

# 2. A config that fails `config check`: refused, the problem shown, nothing installed.
r=$tmp/bad
mkdir "$r"
sed 's/^  id: gw-330502103-yuncun-01 .*/  id: "Bad ID!"/' configs/example.yaml >"$tmp/bad.yaml"
if scripts/install.sh --root "$r" --config "$tmp/bad.yaml" >"$log" 2>&1; then
	fail "an invalid config was accepted"
fi
grep -q 'gateway.id' "$log" || { cat "$log"; fail "the refusal does not name the bad key"; }
[ -z "$(ls -A "$r")" ] || fail "something was installed for an invalid config: $(find "$r")"
ok "invalid config refused, nothing installed"

# 3. The site config: in place 0640, unit enabled (offline, systemctl --root).
r=$tmp/site
mkdir "$r"
scripts/install.sh --root "$r" --config configs/example.yaml >"$log" 2>&1 || { cat "$log"; fail "install with config"; }
cmp -s configs/example.yaml "$r/etc/fenghuo/fenghuo.yaml" || fail "config not in place"
want_mode "$r/etc/fenghuo/fenghuo.yaml" 640
if command -v systemctl >/dev/null 2>&1; then
	[ -L "$r/etc/systemd/system/multi-user.target.wants/fenghuo.service" ] || { cat "$log"; fail "unit not enabled"; }
fi
ok "site config installed, unit enabled"

# 4. The same again: nothing changes.
scripts/install.sh --root "$r" --config configs/example.yaml >"$log" 2>&1 || { cat "$log"; fail "rerun exited $?"; }
grep -q ' installed$' "$log" && { cat "$log"; fail "a rerun installed something again"; }
ok "rerun is idempotent"

# 5. A different config: refused without --force, replaced with it (old one as .bak).
sed 's/^    grid: "3" /    grid: "4" /' configs/example.yaml >"$tmp/other.yaml"
cmp -s configs/example.yaml "$tmp/other.yaml" && fail "test config not changed"
if scripts/install.sh --root "$r" --config "$tmp/other.yaml" >"$log" 2>&1; then
	fail "an existing config was replaced without --force"
fi
grep -q -- '--force' "$log" || { cat "$log"; fail "the refusal does not mention --force"; }
cmp -s configs/example.yaml "$r/etc/fenghuo/fenghuo.yaml" || fail "config changed by a refused install"
scripts/install.sh --root "$r" --config "$tmp/other.yaml" --force >"$log" 2>&1 || { cat "$log"; fail "--force install"; }
cmp -s "$tmp/other.yaml" "$r/etc/fenghuo/fenghuo.yaml" || fail "--force did not replace the config"
cmp -s configs/example.yaml "$r/etc/fenghuo/fenghuo.yaml.bak" || fail "old config not kept as .bak"
want_mode "$r/etc/fenghuo/fenghuo.yaml" 640
ok "existing config kept without --force, replaced with it"

# 6. An upgrade with no --config checks the config in place with the new binary.
printf 'gateway: {id: x}\n' >"$r/etc/fenghuo/fenghuo.yaml"
if scripts/install.sh --root "$r" >"$log" 2>&1; then
	fail "an upgrade over an invalid installed config went on"
fi
grep -q 'not valid' "$log" || { cat "$log"; fail "the refusal does not say the installed config is invalid"; }
ok "upgrade refuses an installed config the new binary rejects"

# 7. As root, into a root with its own passwd and group (an image): the user and owners.
if [ "$(id -u)" -eq 0 ]; then
	r=$tmp/image
	mkdir -p "$r/etc"
	host=$(cat /etc/passwd /etc/group | cksum)
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\ndialout:x:20:\n' >"$r/etc/group"
	printf 'root:*:19000:0:99999:7:::\n' >"$r/etc/shadow"
	printf 'root:*::\ndialout:*::\n' >"$r/etc/gshadow"
	scripts/install.sh --root "$r" --config configs/example.yaml >"$log" 2>&1 || { cat "$log"; fail "image install"; }
	line=$(grep '^fenghuo:' "$r/etc/passwd") || fail "user fenghuo not created"
	uid=$(echo "$line" | cut -d: -f3)
	gid=$(grep '^fenghuo:' "$r/etc/group" | cut -d: -f3) || fail "group fenghuo not created"
	[ "$(echo "$line" | cut -d: -f6,7)" = /var/lib/fenghuo:/usr/sbin/nologin ] || fail "user fenghuo: $line"
	grep -q '^dialout:x:20:fenghuo$' "$r/etc/group" || fail "fenghuo not in dialout: $(grep dialout "$r/etc/group")"
	[ "$(mode "$r/etc/fenghuo")" = "750 0:$gid" ] || fail "/etc/fenghuo: $(mode "$r/etc/fenghuo")"
	[ "$(mode "$r/etc/fenghuo/fenghuo.yaml")" = "640 0:$gid" ] || fail "fenghuo.yaml: $(mode "$r/etc/fenghuo/fenghuo.yaml")"
	[ "$(mode "$r/var/lib/fenghuo")" = "750 $uid:$gid" ] || fail "/var/lib/fenghuo: $(mode "$r/var/lib/fenghuo")"
	[ "$(mode "$r/usr/local/bin/fenghuo")" = "755 0:0" ] || fail "binary: $(mode "$r/usr/local/bin/fenghuo")"
	cp "$r/etc/passwd" "$tmp/passwd.1"
	scripts/install.sh --root "$r" --config configs/example.yaml >"$log" 2>&1 || { cat "$log"; fail "image rerun"; }
	cmp -s "$r/etc/passwd" "$tmp/passwd.1" || fail "a rerun changed etc/passwd"
	[ "$(cat /etc/passwd /etc/group | cksum)" = "$host" ] || fail "the host's /etc/passwd or /etc/group changed"
	ok "user fenghuo (nologin, home /var/lib/fenghuo, dialout) and owners in an image root"
else
	ok "SKIP user creation (not root)"
fi

# 8. The unit, as installed, is valid for systemd (warnings count as failures).
if command -v systemd-analyze >/dev/null 2>&1; then
	sed "s|^ExecStart=/usr/local/bin/fenghuo |ExecStart=$PWD/bin/fenghuo |" \
		"$tmp/site/etc/systemd/system/fenghuo.service" >"$tmp/fenghuo.service"
	out=$(systemd-analyze verify "$tmp/fenghuo.service" 2>&1) || { echo "$out"; fail "systemd-analyze verify"; }
	[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify warns"; }
	ok "systemd-analyze verify: no warnings ($(systemd-analyze security --offline=true "$tmp/fenghuo.service" 2>/dev/null |
		sed -n 's/^→ Overall exposure level for .*: \([0-9.]*\).*/exposure \1/p'))"
else
	ok "SKIP systemd-analyze verify (no systemd-analyze)"
fi
# 9. Onto / (the real useradd, owners by name, systemctl without a running systemd),
# in an overlay of this machine that is thrown away.
if [ "$(id -u)" -ne 0 ]; then
	ok "SKIP install onto / in an overlay (not root)"
elif ! unshare --mount true 2>/dev/null; then
	ok "SKIP install onto / in an overlay (no mount namespace here)"
else
	unshare --mount --propagation private "$self" --sandbox "$tmp/sandbox" || fail "install onto / in an overlay (above)"
	ok "onto / in an overlay of this machine: user, owners, unit enabled for the next boot, rerun unchanged"
fi
echo "install-check: passed"
