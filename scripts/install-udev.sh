#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# install-udev.sh RULE [DESTDIR]: install pinshm's udev rule, so /dev/pinshm
# is root:pinshm with the module's mode (0660 by default). Run by
# `make install` and, after `dkms install`, by DKMS (POST_INSTALL).
#
# Copies RULE to $DESTDIR/etc/udev/rules.d/ (UDEVRULESDIR overrides). With
# no DESTDIR, as root, also creates the system group pinshm if missing
# (groupadd --system) and asks a running udev to apply the rule to a loaded
# module's node. Says on one line what it did not do, and why; fails only
# when the rule cannot be copied.
set -u
rule=$1
destdir=${2:-}
dir=${UDEVRULESDIR:-/etc/udev/rules.d}

install -d "$destdir$dir" && install -m 644 "$rule" "$destdir$dir/" || {
	echo "pinshm: cannot install $rule in $destdir$dir" >&2
	exit 1
}
echo "pinshm: udev rule installed: $destdir$dir/$(basename "$rule")"
[ -z "$destdir" ] || exit 0
if [ "$(id -u)" != 0 ]; then
	echo "pinshm: not root: create the group yourself: groupadd --system pinshm"
	exit 0
fi
if getent group pinshm >/dev/null; then
	:
elif command -v groupadd >/dev/null && groupadd --system pinshm; then
	echo "pinshm: created the system group pinshm; add users with: usermod -aG pinshm USER"
else
	echo "pinshm: could not create the group pinshm: /dev/pinshm stays root-only until it exists" >&2
fi
if command -v udevadm >/dev/null && [ -d /run/udev ]; then
	udevadm control --reload 2>/dev/null
	[ -e /sys/class/misc/pinshm ] &&
		udevadm trigger --action=change --subsystem-match=misc --sysname-match=pinshm 2>/dev/null
fi
exit 0
