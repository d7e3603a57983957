#!/bin/bash
# SPDX-License-Identifier: MIT
# pinshm(1) and --help tell the same story: the commands `pinshm --help`
# lists are the ones the manual's SYNOPSIS and COMMANDS give, and for each
# command (bench's options come from the bench code's --help), every option
# its --help lists appears in the manual's SYNOPSIS line or entry for it,
# and every option the manual gives it (SYNOPSIS, the tags of its entry) is
# one its --help lists; the same for the global options.
. "$(dirname "$0")/lib.sh"

MAN=$ROOT/tools/pinshm.1
[ -f "$MAN" ] || fail "no $MAN"

ok --help
cp "$TMP/out" "$TMP/main"
cmds=$(sed -n '/^Commands:/,/^$/p' "$TMP/main" | sed -n 's/^  \([a-z]\+\).*/\1/p')
[ -n "$cmds" ] || fail "pinshm --help lists no commands"
for c in $cmds; do
	ok "$c" --help
	cp "$TMP/out" "$TMP/help-$c"
done

python3 - "$MAN" "$TMP" $cmds <<'EOF' || fail "pinshm.1 and --help differ (above)"
import re, sys

man, tmp, cmds = sys.argv[1], sys.argv[2], sys.argv[3:]
OPT = re.compile(r'--([a-z][a-z0-9-]*)')

def help_opts(path, section):
    """Options of a --help text from its line section on: its lines
    '  -x, --name' and '      --name'."""
    lines = open(path).read().split('\n')
    lines = lines[lines.index(section):] if section in lines else []
    return {m.group(2) for m in
            (re.match(r'^(  -\w, |      )--([a-z][a-z0-9-]*)', l) for l in lines) if m}

# The manual, with roff's \- as -, split into sections.
sect, text = None, {}
for line in open(man).read().replace('\\-', '-').split('\n'):
    if line.startswith('.SH '):
        sect = line[4:].strip('"')
        text[sect] = []
    elif sect:
        text[sect].append(line)

# SYNOPSIS: one block per ".B pinshm COMMAND" up to ".br".
syn, cur = {}, None
for line in text['SYNOPSIS']:
    m = re.match(r'\.B pinshm(?: ([a-z]+))?', line)
    if m:
        cur = m.group(1) or ''
        syn[cur] = set()
    if cur is not None:
        syn[cur] |= set(OPT.findall(line))
    if line.startswith('.br') or line.startswith('.PP'):
        cur = None

def entries(lines):
    """The top-level .TP entries: first word of the tag -> (tag options,
    options in the tags of its nested .TP list, options anywhere in it)."""
    out, cur, depth, tag = {}, None, 0, False
    for line in lines:
        if line.startswith('.RS'):
            depth += 1
        elif line.startswith('.RE'):
            depth -= 1
        elif line.startswith('.TP'):
            tag = True
            continue
        elif tag and depth == 0:
            cur = re.sub(r'\\f[BIRP]', '', line).split()[1]
            out[cur] = [set(OPT.findall(line)), set(), set(OPT.findall(line))]
        elif cur:
            out[cur][2] |= set(OPT.findall(line))
            if tag:
                out[cur][1] |= set(OPT.findall(line))
        tag = False
    return out

ent = entries(text['COMMANDS'])
bad = []
if set(syn) - {''} != set(cmds):
    bad.append('SYNOPSIS gives commands %s, --help %s' % (sorted(set(syn) - {''}), cmds))
if set(ent) != set(cmds):
    bad.append('COMMANDS describes %s, --help lists %s' % (sorted(ent), cmds))
for c in cmds:
    if c not in syn or c not in ent:
        continue
    h = help_opts('%s/help-%s' % (tmp, c), 'Options:')
    given = syn[c] | ent[c][0] | ent[c][1]
    for o in sorted(h - (syn[c] | ent[c][2])):
        bad.append('%s: --%s is in --help, not in pinshm.1' % (c, o))
    for o in sorted(given - h):
        bad.append('%s: --%s is in pinshm.1, not in --help' % (c, o))

h = help_opts(tmp + '/main', 'Global options:')
g = set(syn.get('', set()))
for line in text['GLOBAL OPTIONS']:
    g |= set(OPT.findall(line))
for o in sorted(h ^ g):
    bad.append('global option --%s: in %s only' % (o, '--help' if o in h else 'pinshm.1'))

for b in bad:
    print('FAIL: ' + b, file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
exit 0
