#!/bin/bash
# SPDX-License-Identifier: MIT
# Run every tests/cli/test_*.sh (or the ones named) against $PINSHM
# (default build/pinshm) with PINSHM_BACKEND=shm unless set. Prints
# "ok N - name" / "not ok N - name" (with the test's output as "# " lines),
# then "N passed, N failed"; exits 1 if any failed.
#   tests/cli/run.sh [test_foo.sh ...]     CLI_TIMEOUT=seconds per test (default 120)

DIR=$(cd "$(dirname "$0")" && pwd)
export PINSHM=${PINSHM:-$(cd "$DIR/../.." && pwd)/build/pinshm}
export PINSHM_BACKEND=${PINSHM_BACKEND:-shm}
TIMEOUT=${CLI_TIMEOUT:-120}

if [ $# -gt 0 ]; then
	tests=()
	for t in "$@"; do
		tests+=("$DIR/$(basename "$t")")
	done
else
	tests=("$DIR"/test_*.sh)
fi

n=0 pass=0 failed=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	name=$(basename "$t" .sh)
	out=$(timeout -k 5 "$TIMEOUT" bash "$t" 2>&1)
	st=$?
	if [ $st -eq 0 ]; then
		echo "ok $n - $name"
		pass=$((pass + 1))
	else
		[ $st -eq 124 ] && out="$out
timed out after ${TIMEOUT}s"
		echo "not ok $n - $name"
		printf '%s\n' "$out" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done
echo "$pass passed, $failed failed"
[ $failed -eq 0 ]
