#!/usr/bin/env bash
# The manual pages against the headers:
#  - every page formats without a groff warning (groff -ww -man -Tutf8);
#  - every public function of the headers (static inline or not; the
#    __pinshm_* internals aside) has its page under libshm/man/, its own or
#    a .so link to the page of its family, and that page's NAME lists it;
#    every .so link points at a page that exists;
#  - every function a library page names (NAME, prototypes, cross
#    references, examples) exists in the headers, so a rename or a removal
#    leaves no stale page behind;
#  - libpinshm(3), the overview, names every public function and lists
#    every page of libshm/man/ under SEE ALSO.
# The list of functions comes from the headers themselves, through gcc's
# -aux-info (every declaration and inline definition, wherever its name
# sits on the line), so the check follows the headers it is given.
#
# Usage: scripts/check-man.sh [INCLUDE_DIR [OVERVIEW]]
#   run from the top of the tree, whose libshm/man/ and tools/pinshm.1 are
#   checked. INCLUDE_DIR: the headers that say which functions exist
#   (default libshm/include; the uapi header is taken from the same tree's
#   kmod/include/uapi). OVERVIEW: the overview page (default
#   libshm/libpinshm.3).
set -euo pipefail

inc=${1:-libshm/include}
inc=${inc%/}
overview=${2:-libshm/libpinshm.3}
mandir=libshm/man
uapi=$inc/../../kmod/include/uapi
[ -d "$uapi" ] || uapi=kmod/include/uapi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

problem() {	# problem TITLE LINES...
	echo "check-man: $1" >&2
	shift
	printf '  %s\n' "$@" >&2
	fail=1
}

# --- the public functions of the headers --------------------------------
hdrs=("$inc"/pinshm.h "$inc"/pinshm/*.h)
for h in "${hdrs[@]}"; do
	echo "#include <${h#"$inc"/}>"
done >"$tmp/all.c"
gcc -std=gnu11 -D_GNU_SOURCE -I"$inc" -I"$uapi" -fsyntax-only \
	-aux-info "$tmp/aux" "$tmp/all.c"
# Lines look like "/* DIR/pinshm/spsc.h:162:NF */ static int pinshm_x (...".
public=$(grep -F "/* $inc/" "$tmp/aux" |
	grep -o '\bpinshm_[a-z0-9_]* (' | tr -d ' (' | sort -u)
[ -n "$public" ] || { echo "check-man: no functions found in $inc" >&2; exit 1; }
printf '%s\n' $public >"$tmp/public"

# --- every page formats cleanly; .so links point at a page ---------------
pages=("$overview" "$mandir"/*.3)
[ -f tools/pinshm.1 ] && pages+=(tools/pinshm.1)
[ -f tools/pinshm-demo.1 ] && pages+=(tools/pinshm-demo.1)
nreal=0 nlink=0
for p in "${pages[@]}"; do
	[ -f "$p" ] || continue
	so=$(sed -n 's/^\.so  *//p' "$p")
	if [ -n "$so" ]; then
		nlink=$((nlink + 1))
		[ -f "$mandir/${so#man3/}" ] ||
			problem "$p links to a page that does not exist:" "$so"
		continue
	fi
	nreal=$((nreal + 1))
	warn=$(LC_ALL=C.UTF-8 groff -ww -man -Tutf8 -z "$p" 2>&1 ||
	       echo "groff failed")
	[ -z "$warn" ] || problem "$p:" "$warn"
	case $p in
	"$mandir"/*)
		title=$(sed -n 's/^\.TH  *\([^ ]*\) .*/\1/p' "$p")
		[ "$title.3" = "$(basename "$p")" ] ||
			problem "$p: .TH names another page:" "$title"
		;;
	esac
done

# NAME section of a page, or of the page a .so link points at.
names_of() {
	local p=$1 so
	so=$(sed -n 's/^\.so  *//p' "$p")
	[ -z "$so" ] || p=$mandir/${so#man3/}
	[ -f "$p" ] || return 0
	sed -n '/^\.SH NAME/,/^\.SH/p' "$p" | grep -o '\bpinshm_[a-z0-9_]*' || true
}

# --- every public function has a page that names it ----------------------
missing=() unnamed=()
for f in $public; do
	if [ ! -f "$mandir/$f.3" ]; then
		missing+=("$f")
	elif ! names_of "$mandir/$f.3" | grep -qx "$f"; then
		unnamed+=("$f.3")
	fi
done
[ ${#missing[@]} -eq 0 ] ||
	problem "public functions without a page in $mandir (own or .so link):" \
		"${missing[@]}"
[ ${#unnamed[@]} -eq 0 ] ||
	problem "pages whose NAME section leaves out their function:" \
		"${unnamed[@]}"

# --- every function a page names exists ----------------------------------
# Function references: "name(" in prototypes and examples, ".BR name (",
# "\fBname\fR(" / "\fBname\fP(", and the NAME section.
stale=()
for p in "$overview" "$mandir"/*.3; do
	[ -f "$p" ] || continue
	grep -q '^\.so' "$p" && continue
	refs=$( {
		grep -o '\bpinshm_[a-z0-9_]*(' "$p" || true
		grep -o '^\.BR\? \+pinshm_[a-z0-9_]* \+(' "$p" || true
		grep -o '\\fBpinshm_[a-z0-9_]*\\f[RP](' "$p" || true
		sed -n '/^\.SH NAME/,/^\.SH/p' "$p"
	} | grep -o '\bpinshm_[a-z0-9_]*' | sort -u || true)
	for f in $refs; do
		grep -qx "$f" "$tmp/public" || stale+=("$(basename "$p"): $f")
	done
done
[ ${#stale[@]} -eq 0 ] ||
	problem "pages name functions the headers do not declare:" "${stale[@]}"

# --- the overview names every function and lists every page --------------
unnamed=()
for f in $public; do
	# \fBname\fP(), .BR name (), .B name: any mention as a word.
	grep -qE "(^|[^a-z0-9_])${f}([^a-z0-9_]|$)" "$overview" ||
		unnamed+=("$f")
done
[ ${#unnamed[@]} -eq 0 ] ||
	problem "public functions libpinshm(3) does not describe:" "${unnamed[@]}"
unlisted=()
seealso=$(sed -n '/^\.SH SEE ALSO/,$p' "$overview")
for p in "$mandir"/*.3; do
	[ -f "$p" ] || continue
	grep -q '^\.so' "$p" && continue
	n=$(basename "$p" .3)
	grep -qE "^\.BR $n \(3\)" <<<"$seealso" || unlisted+=("$n")
done
[ ${#unlisted[@]} -eq 0 ] ||
	problem "pages libpinshm(3) does not list under SEE ALSO:" "${unlisted[@]}"

[ $fail -eq 0 ] || exit 1
echo "  $nreal manual pages format cleanly, $nlink .so links resolve;" \
     "$(wc -w <<<"$public") public functions of $inc each have their page"
