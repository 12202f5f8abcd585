#!/bin/sh
# fenghuo .deb postrm. purge removes the unit's enablement and the owner
# overrides; it keeps /var/lib/fenghuo (the outbox is the site's alarm record,
# GB/T 45839 asks for 999 records and 30 days) and the user fenghuo, which owns it.
set -e

case "$1" in
remove)
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
	;;
purge)
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable fenghuo.service >/dev/null 2>&1 || true
		rm -f /etc/systemd/system/multi-user.target.wants/fenghuo.service
	fi
	for p in /etc/fenghuo/fenghuo.yaml /etc/fenghuo /var/lib/fenghuo; do
		if dpkg-statoverride --list "$p" >/dev/null 2>&1; then
			dpkg-statoverride --remove "$p" || true
		fi
	done
	rmdir /etc/fenghuo 2>/dev/null || true
	if [ -d /var/lib/fenghuo ]; then
		echo "fenghuo: /var/lib/fenghuo (the outbox, the site's alarm record) is kept; remove it by hand when it is no longer needed"
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
	;;
esac
exit 0
