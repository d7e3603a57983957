#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# check-udev.sh RULE: the udev rule gives /dev/pinshm group pinshm and leaves
# its mode to the module. `udevadm verify` (systemd 254 on) checks the
# syntax where it exists; the rest is checked line by line here.
set -u
rule=$1
fail() { echo "check-udev: $rule: $*" >&2; exit 1; }

[ -r "$rule" ] || fail "missing"
if udevadm verify --help >/dev/null 2>&1; then
	udevadm verify --no-summary "$rule" || fail "udevadm verify failed"
fi
lines=$(grep -vE '^[[:space:]]*(#|$)' "$rule")
[ "$(printf '%s\n' "$lines" | wc -l)" = 1 ] || fail "want exactly one rule line"
printf '%s\n' "$lines" | grep -qE '(^|, *)KERNEL=="pinshm"(,|$)' || fail 'no KERNEL=="pinshm" match'
printf '%s\n' "$lines" | grep -qE '(^|, *)SUBSYSTEM=="misc"(,|$)' || fail 'no SUBSYSTEM=="misc" match'
printf '%s\n' "$lines" | grep -qE '(^|, *)GROUP="pinshm"(,|$)' || fail 'no GROUP="pinshm" assignment'
printf '%s\n' "$lines" | grep -q 'MODE' && fail "sets MODE: the module's open_mode must decide"
# every key: NAME==" or NAME=" or NAME+=" with a quoted value, comma-separated
printf '%s\n' "$lines" | tr ',' '\n' | sed 's/^ *//' | while read -r kv; do
	printf '%s\n' "$kv" | grep -qE '^[A-Z_]+(\{[^}]*\})?(==|!=|=|\+=|:=)"[^"]*"$' ||
		{ echo "check-udev: $rule: bad key: $kv" >&2; exit 1; }
done || exit 1
echo "check-udev: $rule ok"
