#!/usr/bin/env bash
# Every function the public headers declare (not static inline) must be
# exported by libpinshm.so: the inline fast paths call some of them
# (__pinshm_* slow paths), and a program built against the headers links
# against the shared library. Usage: scripts/check-abi.sh build/libpinshm.so
set -euo pipefail
so=${1:?usage: $0 LIBPINSHM_SO}
hdrs=(libshm/include/pinshm.h libshm/include/pinshm/*.h)

# Declarations: lines that name a function and end with ');' or continue,
# minus static inline definitions.
declared=$(cat "${hdrs[@]}" |
	awk '/^static inline/ { skip = 1 } /^[{}]/ { skip = 0 }
	     !skip && /^[a-z_][a-z0-9_ *]*[ *](__)?pinshm_[a-z0-9_]+\(/ { print }' |
	grep -o '\(__\)\?pinshm_[a-z0-9_]*(' | tr -d '(' | sort -u)
exported=$(nm -D --defined-only "$so" | awk '{ print $3 }' | sed 's/@.*//' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
if [ -n "$missing" ]; then
	echo "check-abi: declared in the headers but not exported by $so:" >&2
	echo "$missing" | sed 's/^/  /' >&2
	exit 1
fi
echo "  $(echo "$declared" | wc -l) declared functions, all exported by $(basename "$so")"
