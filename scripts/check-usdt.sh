#!/usr/bin/env bash
# The USDT probes of libpinshm: every probe of the table in libpinshm.3
# (PROBES), provider pinshm, is in each file given (a shared library or a
# program linked to the library; an archive: in its objects together),
# with its argument count and a semaphore: in a linked file a non-zero
# address in the probe's note (what libbpf and bpftrace raise to enable
# it), in an object the note's relocation to pinshm_<probe>_semaphore.
# No probe outside the table. Usage: scripts/check-usdt.sh FILE...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 FILE..." >&2; exit 2; }

# probe and argument count, as in libpinshm.3
want='region_create 3
region_open 3
region_close 1
region_destroy 2
role_attach 5
role_takeover 6
role_detach 5
backpressure 4
lapped 3
recovery 4
mpsc_pad 4
sleep 3
woken 5
wake 3'

# "provider name nargs semaphore" per note. readelf prints the arguments
# on one line ("Arguments: -8@%rax ..."). In an object the semaphore
# address is 0 until linked: the note's relocations name it instead, in
# note order (pc, base, semaphore per note).
notes() {
	local f=$1 sems
	if readelf -h "$f" | grep -q 'Type:.*REL '; then
		sems=$(readelf -rW "$f" | awk '
			/^Relocation section/ { on = index($0, ".rela.note.stapsdt\047") > 0 }
			on && /_.stapsdt.base/ { n++; s[n] = "0" }
			on && /_semaphore/ { s[n] = $5 }
			END { for (i = 1; i <= n; i++) print s[i] }')
	else
		sems=
	fi
	readelf -n "$f" 2>/dev/null | awk '
		/Provider:/ { if (p != "") print p, n, a, s; p = $2; n = ""; s = ""; a = 0 }
		/Name:/ && p != "" { n = $2 }
		/Semaphore:/ { s = $NF }
		/Arguments:/ { a = NF - 1 }
		END { if (p != "") print p, n, a, s }' |
	if [ -n "$sems" ]; then paste -d' ' - <(echo "$sems"); else cat; fi
}

# One line per note of f: "provider name nargs ok|missing".
check_notes() {
	notes "$1" | awk '{
		sem = ($5 != "") ? ($5 == "pinshm_" $2 "_semaphore") : ($4 !~ /^(0x)?0*$/)
		print $1, $2, $3, sem ? "ok" : "missing" }'
}

status=0
for f in "$@"; do
	[ -f "$f" ] || { echo "check-usdt: $f: no such file" >&2; exit 1; }
	case $f in
	*.a)
		tmp=$(mktemp -d)
		(cd "$tmp" && ar x "$OLDPWD/$f")
		got=$(for o in "$tmp"/*.o; do check_notes "$o"; done | sort -u)
		rm -rf "$tmp" ;;
	*)
		got=$(check_notes "$f" | sort -u) ;;
	esac
	if [ -z "$got" ]; then
		echo "check-usdt: $f: no USDT probes (was it built without <sys/sdt.h>?)" >&2
		status=1
		continue
	fi
	bad=0
	while read -r name nargs; do
		lines=$(echo "$got" | awk -v n="$name" '$1 == "pinshm" && $2 == n')
		if [ -z "$lines" ]; then
			echo "check-usdt: $f: probe pinshm:$name missing" >&2
			bad=1
			continue
		fi
		while read -r _ _ args sem; do
			if [ "$sem" != ok ]; then
				echo "check-usdt: $f: pinshm:$name has no semaphore" >&2
				bad=1
			fi
			if [ "$args" != "$nargs" ]; then
				echo "check-usdt: $f: pinshm:$name has $args arguments, not $nargs" >&2
				bad=1
			fi
		done <<< "$lines"
	done <<< "$want"
	extra=$(echo "$got" | awk '{ print $1 ":" $2 }' | sort -u |
		grep -vxF -f <(echo "$want" | awk '{ print "pinshm:" $1 }') || true)
	if [ -n "$extra" ]; then
		echo "check-usdt: $f: probes not in the table:" $extra >&2
		bad=1
	fi
	if [ $bad -eq 0 ]; then
		echo "  $(basename "$f"): $(echo "$want" | wc -l) probes of provider pinshm, each with a semaphore"
	fi
	status=$((status | bad))
done
exit $status
