#!/bin/bash
# SPDX-License-Identifier: MIT
# A tail killed with SIGKILL at any moment has written every record it
# released: it flushes its output before it releases, so a second tail,
# resuming from the ring's released position, continues where the output
# stopped. Over several killed tails and a last one that finishes, every
# record of a `pub --seq` run is printed, none is lost, no line is cut but
# the last of a killed tail's output (a record not released yet, cut by
# the kill), and a record is printed twice only when a tail died between
# writing its last batch and releasing it (that batch, at most 64 records,
# starts the next tail's output). And tail keeps the buffering stdbuf(1)
# asks for: line-buffered, one write per record.
. "$(dirname "$0")/lib.sh"

COUNT=1000000
ROUNDS=${ROUNDS:-6}

name killed
ok create "$N" --size 4M
ok ring add "$N" s --type spsc --capacity 64K
ok ring add "$N" m --type mpsc --capacity 64K

# check_union RING OUT...: the outputs, in order, hold seq 1..COUNT. A
# killed tail's output may end in a cut line: SIGKILL ends a write of its
# buffer (up to 64 KiB) at a page boundary. Such a record was never
# released, so the next tail prints it again; anywhere else, or in the
# last output, a cut line fails.
check_union() {
	local r=$1
	shift
	awk -v count=$((COUNT + 1)) -v ring="$r" -v nfiles=$# '
		FNR == 1 { file++; first = 1; if (cut) { cuts++; cut = 0 } }
		cut {
			printf "%s: cut or stray line in output %d: \"%s\"\n", ring, file, cutline
			bad = 1; exit
		}
		!/^id=0 seq=[0-9]+ len=[0-9]+$/ {
			if (file < nfiles && length($0) && ("id=0 seq=" ~ "^" $0 || /^id=0 seq=[0-9]+( l?e?n?=?[0-9]*)?$/)) {
				cut = 1; cutline = $0; next
			}
			printf "%s: cut or stray line in output %d: \"%s\"\n", ring, file, $0
			bad = 1; exit
		}
		{
			split($2, a, "="); s = a[2] + 0
			if (first && file > 1 && have) {
				# A new tail: it resumes at most one batch back.
				if (s > last + 1) {
					printf "%s: lost seq %d..%d between tails %d and %d\n",
						ring, last + 1, s - 1, file - 1, file
					bad = 1; exit
				}
				if (s <= last - 64) {
					printf "%s: tail %d went back from %d to %d\n",
						ring, file, last, s
					bad = 1; exit
				}
				dups += last - s + 1
			} else if (have && s != last + 1) {
				printf "%s: output %d: seq %d after %d\n", ring, file, s, last
				bad = 1; exit
			}
			first = 0; have = 1; last = s; seen[s] = 1
		}
		END {
			if (bad)
				exit 1
			for (i = 1; i <= count; i++)
				if (!(i in seen)) {
					printf "%s: seq %d never printed\n", ring, i
					exit 1
				}
			printf "%s: %d records, %d printed twice across %d tails, %d cut by a kill\n",
				ring, count, dups, file, cuts
		}' "$@"
}

for r in s m; do
	# 1 s of records at 1M/s, about half what tail can take.
	"$PINSHM" pub "$N" $r --seq --count $COUNT --size 32 --rate 1000000 \
		>/dev/null 2>"$TMP/pub.err" &
	pub=$!
	bg $pub
	outs=()
	for i in $(seq "$ROUNDS"); do
		: >"$TMP/$r.$i"
		"$PINSHM" tail "$N" $r >>"$TMP/$r.$i" 2>"$TMP/tail.err" &
		t=$!
		bg $t
		# a random moment, 10-100 ms in: busy reading, writing or asleep
		sleep "0.$(printf '%03d' $((10 + RANDOM % 90)))"
		kill -9 $t
		wait $t 2>/dev/null
		outs+=("$TMP/$r.$i")
		# sometimes let the ring fill: the next tail starts busy
		sleep "0.0$((RANDOM % 5))"
	done
	# The last tail reads the rest; one record more once pub is done (a
	# pub resumes after its last) gives it a record to end on, whatever
	# the killed tails took.
	timeout 60 "$PINSHM" tail "$N" $r --check-seq --count $((COUNT + 1)) \
		>"$TMP/$r.last" 2>"$TMP/err" &
	t=$!
	bg $t
	wait $pub || fail "$r: pub failed: $(cat "$TMP/pub.err")"
	"$PINSHM" pub "$N" $r --seq --count $((COUNT + 1)) --size 32 >/dev/null 2>&1 ||
		fail "$r: the last pub failed"
	wait $t || fail "$r: the last tail failed"
	outs+=("$TMP/$r.last")
	check_union $r "${outs[@]}" || fail "$r: records lost or cut (outputs in $TMP)"
done

# stdbuf -oL: one write per line, not the tail's own 64 KiB buffer. The
# records are all in the ring, so tail prints them without idling (when
# it flushes anyway) and then waits for a record that never comes.
name lbuf
ok create "$N" --size 1M
ok ring add "$N" s --type spsc --capacity 256K
ok pub "$N" s --seq --count 1000 --size 32
writes() {	# write system calls of pid so far
	awk '/^syscw:/ { print $2 }' "/proc/$1/io"
}
for mode in full line; do
	if [ $mode = line ]; then
		stdbuf -oL "$PINSHM" tail "$N" s --count 2000 >"$TMP/lbuf.out" 2>/dev/null &
	else
		"$PINSHM" tail "$N" s --count 2000 >"$TMP/lbuf.out" 2>/dev/null &
	fi
	t=$!
	bg $t
	for i in $(seq 200); do
		[ "$(wc -l <"$TMP/lbuf.out")" -ge 1000 ] && break
		sleep 0.02
	done
	sleep 0.2
	w=$(writes $t)
	kill -9 $t
	wait $t 2>/dev/null
	[ "$(wc -l <"$TMP/lbuf.out")" -eq 1000 ] || fail "$mode: tail printed $(wc -l <"$TMP/lbuf.out") lines"
	if [ $mode = line ]; then
		[ "$w" -ge 1000 ] || fail "stdbuf -oL: $w writes for 1000 lines"
	else
		[ "$w" -lt 100 ] || fail "full buffering: $w writes for 1000 lines"
	fi
	# the next round reads the same records again
	ok rm "$N"
	ok create "$N" --size 1M
	ok ring add "$N" s --type spsc --capacity 256K
	ok pub "$N" s --seq --count 1000 --size 32
done
exit 0
