#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# build-deb.sh VERSION DEB_VERSION OUT: the Debian packages of debian/, with
# dpkg-buildpackage, in a copy of the tree under OUT (the tree itself and its
# parent stay clean), then lintian on each. Run by `make deb`.
#
# VERSION is the Makefile's, the one place the version is written:
# debian/changelog's newest entry and dkms.conf's PACKAGE_VERSION must say
# the same, or this fails before building. DEB_VERSION (default VERSION)
# builds packages of another version, for upgrade tests: the copy's
# changelog gets an entry for it, and the build passes it to the Makefile,
# to dkms.conf and to the DKMS source path.
#
# Leaves OUT/*.deb, OUT/lintian-DEB_VERSION.log and the build log
# OUT/build-DEB_VERSION.log. Fails on any lintian error; prints every tag.
set -eu

[ $# -eq 3 ] || { echo "usage: $0 VERSION DEB_VERSION OUT" >&2; exit 2; }
version=$1 debver=$2 out=$3
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

fail() { echo "build-deb.sh: $*" >&2; exit 1; }

# one version: the Makefile's
clver=$(dpkg-parsechangelog -l debian/changelog -S Version)
[ "$clver" = "$version" ] ||
	fail "debian/changelog's newest entry is $clver, the Makefile's VERSION $version: add a changelog entry"
dkver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
[ "$dkver" = "$version" ] ||
	fail "dkms.conf's PACKAGE_VERSION is $dkver, the Makefile's VERSION $version"
case $debver in
*[!0-9.]* | '') fail "DEB_VERSION=$debver: digits and dots only (an upstream version)" ;;
esac
dpkg --compare-versions "$debver" ge "$version" ||
	fail "DEB_VERSION=$debver is older than VERSION $version"

# the copy: the files git has or would add (with uncommitted changes), else all but build/
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src/pinshm-$debver
rm -rf "$src"
mkdir -p "$src"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$root" ls-files -z -co --exclude-standard |
		(cd "$root" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		 xargs -0 cp -P --parents -t "$src")
else
	tar -C "$root" --exclude=./build -cf - . | tar -C "$src" -xf -
fi
if [ "$debver" != "$version" ]; then
	{
		printf 'pinshm (%s) bookworm; urgency=medium\n\n' "$debver"
		printf '  * Built by make deb DEB_VERSION=%s from %s.\n\n' "$debver" "$version"
		printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -l debian/changelog -S Maintainer)" \
			"$(date -R)"
		cat debian/changelog
	} > "$src"/debian/changelog
fi

echo "  DEB     pinshm $debver (dpkg-buildpackage; log: $out/build-$debver.log)"
log=$out/build-$debver.log
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) > "$log" 2>&1; then
	tail -n 40 "$log" >&2
	fail "dpkg-buildpackage failed; see $log"
fi
# dpkg-gensymbols -c4 fails on a new or missing symbol; say so when it did not
grep -E 'dpkg-gensymbols: (warning|error)' "$log" >&2 && fail "dpkg-gensymbols complained"
arch=$(dpkg --print-architecture)
changes=$out/src/pinshm_${debver}_$arch.changes
debs=$(sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]* [0-9]* [^ ]* [^ ]* \(.*\.deb\)$/\1/p' "$changes")
for d in $debs; do
	mv "$out/src/$d" "$out/"
done
rm -f "$out"/src/pinshm_"$debver"_*.buildinfo "$changes"
rm -rf "$src"
(cd "$out" && ls -l $debs) | sed 's/^/  /'

echo "  LINTIAN $(echo $debs)"
llog=$out/lintian-$debver.log
(cd "$out" && lintian --display-info \
	$debs) > "$llog" 2>&1 || :
sed 's/^/  /' "$llog" | grep -E '^  [EWIP]: ' | sort | uniq -c | sed 's/^/  /' || :
grep -q '^E: ' "$llog" && fail "lintian errors; see $llog"
grep -qE '^(internal error|Unknown|.*: command not found)' "$llog" && fail "lintian failed; see $llog"
exit 0
