#!/usr/bin/env bash
# The ABI of libpinshm.so: its soname and symbol version node are the ones
# libshm/libshm.map names (the node is bumped with the soname whenever what
# a program compiles in changes shape), every exported symbol carries that
# node, and every function the public headers declare (not static inline)
# is exported: the inline fast paths call some of them (__pinshm_* slow
# paths), and a program built against the headers links against the
# shared library. Usage: scripts/check-abi.sh build/libpinshm.so [SONAME]
set -euo pipefail
so=${1:?usage: $0 LIBPINSHM_SO [SONAME]}
want_soname=${2:-}
hdrs=(libshm/include/pinshm.h libshm/include/pinshm/*.h)
node=$(grep -o '^PINSHM_[0-9.]* {' libshm/libshm.map | tr -d ' {')

soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ -n "$want_soname" ] && [ "$soname" != "$want_soname" ]; then
	echo "check-abi: $so has soname '$soname', not $want_soname" >&2
	exit 1
fi
unversioned=$(nm -D --defined-only "$so" | awk '{ print $3 }' |
	grep -v "@@$node\$" | grep -v "^$node\$" || true)
if [ -n "$unversioned" ]; then
	echo "check-abi: exported by $so without version node $node:" >&2
	echo "$unversioned" | sed 's/^/  /' >&2
	exit 1
fi

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
echo "  $soname, version node $node: $(echo "$declared" | wc -l) declared" \
     "functions, all exported by $(basename "$so")"
