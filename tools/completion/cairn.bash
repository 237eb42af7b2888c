# bash completion for cairn(1): subcommands, options, member names after
# --member, and snapshot names (MEMBER/TIMESTAMP, MEMBER/latest) where a
# SNAP goes, from `cairn snapshots --json` of the repository named by -r,
# --repo or $CAIRN_REPO. Subcommands and options come from the installed
# cairn's own --help, so they follow it. Needs nothing beyond bash.
#
# Installed by `make install` into share/bash-completion/completions/cairn;
# or: source tools/completion/cairn.bash

# Options that take a value (the next word is not an operand).
_cairn_arg_opts=" -r --repo --member --time --tag --target --against --jobs --cache-size
 --metrics-file --s3-endpoint --cacert --exclude --exclude-file --files-from --before
 --after --tar --stdin --password-file --new-password-file --keep-last --keep-hourly
 --keep-daily --keep-weekly --keep-monthly --keep-yearly --keep-within --keep-tag --format
 --since --until --chunk-size --compression --repack-threshold --layout -o -t "

# _cairn_repo WORDS...: the repository the command line names, else $CAIRN_REPO.
_cairn_repo() {
	local repo=${CAIRN_REPO:-} i
	local -a w=("$@")
	for ((i = 0; i < ${#w[@]}; i++)); do
		case "${w[i]}" in
		-r | --repo) repo=${w[i + 1]:-} ;;
		--repo=*) repo=${w[i]#--repo=} ;;
		-r?*) repo=${w[i]#-r} ;;
		esac
	done
	printf '%s' "$repo"
}

# _cairn_snapshots PROG REPO: MEMBER/TIMESTAMP and MEMBER/latest, one a line.
_cairn_snapshots() {
	[ -n "$2" ] || return 0
	"$1" snapshots -r "$2" --json 2>/dev/null | sed -n \
		-e 's/.*"member": *"\([^"]*\)".*"timestamp": *"\([^"]*\)".*/\1\/\2\
\1\/latest/p' | sort -u
}

# _cairn_add COMPGEN-ARGS...: adds compgen's words to COMPREPLY (none is
# not a failure, also under set -e).
_cairn_add() {
	# shellcheck disable=SC2207 # words without blanks, as compgen gives them
	COMPREPLY+=($(compgen "$@" 2>/dev/null)) || true
}

_cairn() {
	local prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD - 1]:-} sub="" i npos=0
	COMPREPLY=()

	if [ "$COMP_CWORD" -eq 1 ]; then
		local cmds
		cmds=$("$prog" --help 2>/dev/null | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
		_cairn_add -W "$cmds --help --version" -- "$cur"
		return 0
	fi
	sub=${COMP_WORDS[1]}
	# The operands before the cursor, skipping options and their values.
	for ((i = 2; i < COMP_CWORD; i++)); do
		case "${COMP_WORDS[i]}" in
		--) ;;
		-*) if [[ "$_cairn_arg_opts" == *" ${COMP_WORDS[i]} "* ]]; then i=$((i + 1)); fi ;;
		*) npos=$((npos + 1)) ;;
		esac
	done
	local repo
	repo=$(_cairn_repo "${COMP_WORDS[@]:0:COMP_CWORD}")

	case "$prev" in
	-r | --repo | --target | --against | --layout | -t)
		_cairn_add -d -- "$cur"
		return 0
		;;
	--metrics-file | --exclude-file | --files-from | --password-file | --new-password-file | --tar | --cacert)
		_cairn_add -f -- "$cur"
		return 0
		;;
	--member)
		local members
		members=$(_cairn_snapshots "$prog" "$repo" | sed 's,/.*,,' | sort -u)
		_cairn_add -W "$members" -- "$cur"
		return 0
		;;
	esac
	if [[ "$_cairn_arg_opts" == *" $prev "* ]]; then
		return 0 # a value cairn cannot guess
	fi
	if [[ "$cur" == -* ]]; then
		local opts
		opts=$("$prog" "$sub" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
		_cairn_add -W "$opts" -- "$cur"
		return 0
	fi
	case "$sub" in
	ls | restore | export | rehearse)
		if [ "$npos" -eq 0 ]; then
			_cairn_add -W "$(_cairn_snapshots "$prog" "$repo")" -- "$cur"
		fi
		;;
	diff)
		if [ "$npos" -eq 0 ]; then
			_cairn_add -W "$(_cairn_snapshots "$prog" "$repo")" -- "$cur"
		elif [ "$npos" -eq 1 ]; then
			_cairn_add -W "$(_cairn_snapshots "$prog" "$repo")" -- "$cur"
			_cairn_add -d -- "$cur"
		fi
		;;
	backup | import | mount)
		_cairn_add -f -- "$cur"
		;;
	esac
	return 0
}

complete -F _cairn cairn
