#!/usr/bin/env bash
# The manual pages: they format without a groff warning, and libpinshm(3)
# names every public function of the headers (static inline or not; the
# __pinshm_* internals aside), so a call added without its documentation
# fails here. Usage: scripts/check-man.sh
set -euo pipefail
pages=(tools/pinshm.1 libshm/libpinshm.3)
hdrs=(libshm/include/pinshm.h libshm/include/pinshm/*.h)

for p in "${pages[@]}"; do
	warn=$(LC_ALL=C.UTF-8 groff -man -ww -z "$p" 2>&1 || echo "groff failed")
	if [ -n "$warn" ]; then
		echo "check-man: $p:" >&2
		echo "$warn" | sed 's/^/  /' >&2
		exit 1
	fi
done

public=$(grep -h '^\(static inline \)\?[a-z].*\bpinshm_[a-z0-9_]*(' "${hdrs[@]}" |
	grep -o '\bpinshm_[a-z0-9_]*(' | tr -d '(' | sort -u)
missing=
for f in $public; do
	# \fBname\fP(), .BR name (), .B name: any mention as a word.
	grep -qE "(^|[^a-z0-9_])${f}([^a-z0-9_]|$)" libshm/libpinshm.3 ||
		missing+=" $f"
done
if [ -n "$missing" ]; then
	echo "check-man: public functions libpinshm(3) does not describe:" >&2
	printf '  %s\n' $missing >&2
	exit 1
fi
echo "  ${#pages[@]} manual pages format cleanly; libpinshm(3) describes all" \
     "$(echo "$public" | wc -w) public functions"
