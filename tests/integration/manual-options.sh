#!/usr/bin/env bash
# The manual covers what the programs offer: every subcommand `cairn --help`
# lists has an entry in COMMANDS and an example in EXAMPLES of cairn(1), and
# every option any `cairn SUBCOMMAND --help` prints is in cairn(1), and
# every option the SYNOPSIS of cairn(1) gives a command is in that command's
# --help; every -o option and fstab word `cairnfs --help` prints is in
# cairnfs(1).
. "$(dirname "$0")/lib.sh"

# man_text PAGE: the page's source with roff escapes for '-' and fonts gone.
man_text() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(aq/'"'"'/g' "$SRC/man/$1"
}
man_text cairn.1 >"$T/cairn.1.txt"
man_text cairnfs.1 >"$T/cairnfs.1.txt"

# in_page FILE WORD: WORD appears in FILE as a whole option word.
in_page() {
	grep -qE -- "(^|[^A-Za-z0-9_-])${2//./\\.}([^A-Za-z0-9_-]|$)" "$1"
}

expect_status 0 "$BUILD/cairn" --help
commands=$(sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' <<<"$OUT")
[ "$(wc -w <<<"$commands")" -ge 14 ] || fail "too few commands in cairn --help: $commands"
in_page "$T/cairn.1.txt" --help || fail "cairn(1) lacks --help"

# The sections, as files (grep -q on a pipe would race set -o pipefail).
awk '/^\.SH COMMANDS/{on=1} /^\.SH/&&!/COMMANDS/{on=0} on' "$T/cairn.1.txt" >"$T/commands.txt"
awk '/^\.SH EXAMPLES/{on=1} /^\.SH/&&!/EXAMPLES/{on=0} on' "$T/cairn.1.txt" >"$T/examples.txt"
missing=()
for c in $commands; do
	# COMMANDS entry: a .TP paragraph starting ".B NAME"; an example "cairn NAME".
	grep -qx "\.B $c" "$T/commands.txt" || missing+=("COMMANDS entry for $c")
	grep -qE "(^|[ |])cairn $c( |$)" "$T/examples.txt" || missing+=("example of cairn $c")
	expect_status 0 "$BUILD/cairn" "$c" --help
	[ -n "$OUT" ] || fail "cairn $c --help printed nothing"
	printf '%s\n' "$OUT" >"$T/help.$c"
	for o in $(grep -oE -- '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' <<<"$OUT" | sed 's/^[^-]*//' | sort -u); do
		case "$o" in
		--) continue ;;
		esac
		in_page "$T/cairn.1.txt" "$o" || missing+=("$o (cairn $c --help)")
	done
done

# The other way: what SYNOPSIS promises for a command, its --help lists.
awk '/^\.SH SYNOPSIS/{on=1; next} /^\.SH/{on=0} on' "$T/cairn.1.txt" |
	awk '/^\.B cairn [a-z]/{cmd=$3} cmd {print cmd "\t" $0}' >"$T/synopsis.txt"
[ "$(cut -f1 "$T/synopsis.txt" | sort -u | wc -l)" -ge 14 ] || fail "SYNOPSIS not parsed"
while IFS=$'\t' read -r c line; do
	for o in $(grep -oE -- '(^|[^A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9-]*' <<<"$line" | sed 's/^[^-]*//'); do
		printf '%s %s\n' "$c" "$o"
	done
done <"$T/synopsis.txt" | sort -u >"$T/promised.txt"
while read -r c o; do
	[ -f "$T/help.$c" ] || "$BUILD/cairn" "$c" --help >"$T/help.$c" 2>&1 || true
	in_page "$T/help.$c" "$o" || missing+=("$o (SYNOPSIS of cairn $c, not in its --help)")
done <"$T/promised.txt"

expect_status 0 "$BUILD/cairnfs" --help
# Only cairnfs's own part; libfuse's generic options follow "-h   --help".
own=$(sed '/^ *-h  *--help/,$d' <<<"$OUT")
[ -n "$(grep -- '-o ' <<<"$own")" ] || fail "no -o options in cairnfs --help"
for o in $(grep -oE -- '-o [a-z_]+' <<<"$own" | sed 's/^-o //' | sort -u); do
	in_page "$T/cairnfs.1.txt" "$o" || missing+=("-o $o (cairnfs --help)")
done
for w in $(sed -n '/^fstab/,/^$/p' <<<"$own" | grep -oE '(_netdev|nofail|noauto|auto|users|user|nouser|defaults|rw|comment=|x-systemd)' | sort -u); do
	in_page "$T/cairnfs.1.txt" "$w" || missing+=("$w (cairnfs --help, fstab)")
done
for f in -f -d -s; do
	in_page "$T/cairnfs.1.txt" "$f" || missing+=("$f (cairnfs)")
done

if [ "${#missing[@]}" -gt 0 ]; then
	printf "  %s\n" "${missing[@]}" >&2
	fail "${#missing[@]} disagreements between --help and the manual"
fi
