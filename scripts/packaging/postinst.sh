#!/bin/sh
# fenghuo .deb postinst: the system user, the owners of the config and the
# outbox directory, systemd told about the unit.
#
# Not enabled or started on a first install: the shipped /etc/fenghuo/fenghuo.yaml
# is the example (a made-up broker and buses), and a gateway must not start polling
# serial lines or dialling out before an installer has written the site's config.
# On an upgrade a running daemon is restarted with the new binary, once the config
# in place passes `fenghuo config check` with it.
set -e

if [ "$1" = configure ]; then
	if ! getent group fenghuo >/dev/null; then
		addgroup --system --quiet fenghuo
	fi
	if ! getent passwd fenghuo >/dev/null; then
		adduser --system --quiet --ingroup fenghuo --home /var/lib/fenghuo --no-create-home \
			--shell /usr/sbin/nologin --gecos 'fenghuo gateway' fenghuo
	fi
	if getent group dialout >/dev/null; then
		adduser --quiet fenghuo dialout
	fi
	# Owners by statoverride: dpkg keeps them across upgrades; an admin's own override wins.
	for o in "root fenghuo 0750 /etc/fenghuo" "root fenghuo 0640 /etc/fenghuo/fenghuo.yaml" \
		"fenghuo fenghuo 0750 /var/lib/fenghuo"; do
		# shellcheck disable=SC2086 # four words: owner group mode path
		set -- $o
		if ! dpkg-statoverride --list "$4" >/dev/null 2>&1 && [ -e "$4" ]; then
			dpkg-statoverride --update --add "$@"
		fi
	done

	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
		if systemctl is-active --quiet fenghuo.service; then
			if out=$(/usr/bin/fenghuo config check /etc/fenghuo/fenghuo.yaml 2>&1); then
				systemctl restart fenghuo.service || true
				echo "fenghuo: restarted with the new binary"
			else
				echo "$out" >&2
				echo "fenghuo: /etc/fenghuo/fenghuo.yaml is not valid for the new binary (above):" >&2
				echo "fenghuo: the old daemon keeps running; fix the config, then: systemctl restart fenghuo" >&2
			fi
		elif ! systemctl is-enabled --quiet fenghuo.service 2>/dev/null; then
			echo "fenghuo: installed, not started. Write the site's /etc/fenghuo/fenghuo.yaml, then:"
			echo "  fenghuo config check /etc/fenghuo/fenghuo.yaml && systemctl enable --now fenghuo"
		fi
	fi
fi
exit 0
