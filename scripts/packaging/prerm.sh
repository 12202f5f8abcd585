#!/bin/sh
# fenghuo .deb prerm: stop the daemon on removal. On an upgrade it keeps running
# (the buses keep being watched) and postinst restarts it with the new binary.
set -e

case "$1" in
remove | deconfigure)
	if [ -d /run/systemd/system ]; then
		systemctl stop fenghuo.service || true
	fi
	;;
esac
exit 0
