# SPDX-License-Identifier: MIT
# Helpers for tests/cli/test_*.sh: source it first. Each test runs the
# pinshm command ($PINSHM, default build/pinshm) against the shm backend
# (PINSHM_BACKEND, default shm), names its regions t$$-..., and removes
# them on exit whatever happens.

set -u

CLI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$CLI_DIR/../.." && pwd)
PINSHM=${PINSHM:-$ROOT/build/pinshm}
export PINSHM_BACKEND=${PINSHM_BACKEND:-shm}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pinshm-cli.XXXXXX")
REGIONS=()
BGPIDS=()

cleanup() {
	local p r
	for p in "${BGPIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for r in "${REGIONS[@]}"; do
		"$PINSHM" rm "$r" >/dev/null 2>&1
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -x "$PINSHM" ] || { echo "FAIL: $PINSHM not built (make tools)" >&2; exit 1; }

# name SUFFIX: a region name unique to this test run, removed at exit.
# Sets $N (no subshell, so the cleanup list keeps it).
name() {
	N="t$$-$1"
	REGIONS+=("$N")
}

# Remember a background pid so that cleanup kills it.
bg() {
	BGPIDS+=("$1")
}

fail() {
	echo "FAIL: $*" >&2
	if [ -s "$TMP/err" ]; then
		echo "  stderr of the last command:" >&2
		sed 's/^/    /' "$TMP/err" >&2
	fi
	exit 1
}

# run ARGS...: run pinshm, keep stdout in $TMP/out, stderr in $TMP/err, exit code in $RC.
run() {
	"$PINSHM" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
}

# ok ARGS...: pinshm ARGS must exit 0.
ok() {
	run "$@"
	[ "$RC" -eq 0 ] || fail "pinshm $* exited $RC, expected 0"
}

# rc N ARGS...: pinshm ARGS must exit N.
rc() {
	local want=$1
	shift
	run "$@"
	[ "$RC" -eq "$want" ] || fail "pinshm $* exited $RC, expected $want"
}

# err_is REGEX: stderr is exactly one line, matching REGEX (grep -E).
err_is() {
	local lines
	lines=$(wc -l <"$TMP/err")
	[ "$lines" -eq 1 ] || fail "expected one line on stderr, got $lines"
	grep -Eq -- "$1" "$TMP/err" || fail "stderr does not match /$1/: $(cat "$TMP/err")"
}

# err_has REGEX: some line of stderr matches.
err_has() {
	grep -Eq -- "$1" "$TMP/err" || fail "stderr does not match /$1/: $(cat "$TMP/err")"
}

# out_has REGEX: some line of stdout matches.
out_has() {
	grep -Eq -- "$1" "$TMP/out" || fail "stdout does not match /$1/: $(head -c 2000 "$TMP/out")"
}

# pyjson EXPR...: python3 statements run with d = json of $TMP/out.
pyjson() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])
' "$TMP/out" "$1" || fail "JSON check failed: $1"
}

# ring_stat REGION RING FIELD: a counter of a ring, from info --json.
ring_stat() {
	"$PINSHM" info "$1" --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print([o for o in d["objects"] if o["name"] == sys.argv[1]][0][sys.argv[2]])
' "$2" "$3"
}
