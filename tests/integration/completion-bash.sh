#!/usr/bin/env bash
# tools/completion/cairn.bash, sourced into this shell: COMPREPLY for
# subcommands, a command's options, members after --member and snapshot
# names where a SNAP goes (from -r, --repo= or $CAIRN_REPO), and nothing
# from a repository that is not there.
. "$(dirname "$0")/lib.sh"

R=$T/repo
mkdir -p "$T/a" "$T/b"
echo a >"$T/a/f"
echo b >"$T/b/f"
cairn init -r "$R" --no-encryption
cairn backup -r "$R" --member replica-0 --time 2026-11-22T205328Z "$T/a"
cairn backup -r "$R" --member replica-0 --time 2026-11-23T205328Z "$T/a"
cairn backup -r "$R" --member session-db --time 2026-11-22T205328Z "$T/b"

PATH=$BUILD:$PATH
# shellcheck source=../../tools/completion/cairn.bash
. "$SRC/tools/completion/cairn.bash"
assert_contains "$(complete -p cairn)" "_cairn" "the script did not register itself"

# complete_line WORDS...: COMPREPLY for the last word (may be ""), sorted,
# space-separated, in $GOT.
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	_cairn cairn "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	GOT=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//')
}

info "subcommands"
complete_line cairn re
assert_eq "rehearse restore" "$GOT"
complete_line cairn sn
assert_eq "snapshots" "$GOT"

info "options of a subcommand"
complete_line cairn rehearse --a
assert_eq "--against" "$GOT"
complete_line cairn check --read
assert_eq "--read-data" "$GOT"
complete_line cairn restore -r "$R" --met
assert_eq "--metrics-file" "$GOT"

info "members after --member"
complete_line cairn snapshots -r "$R" --member ""
assert_eq "replica-0 session-db" "$GOT"
complete_line cairn backup --repo "$R" --member s
assert_eq "session-db" "$GOT"

info "snapshots where a SNAP goes"
complete_line cairn restore -r "$R" replica
assert_eq "replica-0/2026-11-22T205328Z replica-0/2026-11-23T205328Z replica-0/latest" "$GOT"
complete_line cairn ls --repo="$R" session-db/
assert_eq "session-db/2026-11-22T205328Z session-db/latest" "$GOT"
CAIRN_REPO=$R complete_line cairn rehearse --target /tmp/x se
assert_eq "session-db/2026-11-22T205328Z session-db/latest" "$GOT" "from \$CAIRN_REPO, after an option's value"
complete_line cairn rehearse -r "$R" replica-0/latest ""
assert_eq "" "$GOT" "PATH, after the SNAP, is not a snapshot"
complete_line cairn diff -r "$R" replica-0/latest session
assert_eq "session-db/2026-11-22T205328Z session-db/latest" "$GOT" "diff's second operand"

info "no repository, or a missing one: nothing, and no noise"
complete_line cairn restore rep
assert_eq "" "$GOT"
out=$(complete_line cairn restore -r "$T/nope" rep 2>&1)
assert_eq "" "$out" "completion printed something"
