#!/usr/bin/env bash
# The systemd units of tools/systemd pass `systemd-analyze verify` (with the
# binaries they name), carry what the design asks of them (Persistent=,
# RandomizedDelaySec=, the weekly 5% check, hardening where it fits and none
# on the mount), and their command lines work: each ExecStart, taken apart
# as systemd does (quotes, %i, %%, $$) and run with an /etc/cairn/<member>.env
# of its own, backs up, checks and rehearses a real repository. make install
# installs them with the binaries' path filled in, with the completion script
# and the Kubernetes examples.
. "$(dirname "$0")/lib.sh"

command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (the systemd package)"
U=$T/units
mkdir -p "$U"
for f in "$SRC"/tools/systemd/*; do
	sed "s|@BINDIR@|$BUILD|g" "$f" >"$U/${f##*/}"
done

info "systemd-analyze verify"
units=()
for f in "$U"/*; do
	name=${f##*/}
	case "$name" in
	*@.*) units+=("$U/${name/@./@member1.}") ;; # an instance of the template
	*) units+=("$f") ;;
	esac
done
[ "${#units[@]}" -ge 8 ] || fail "expected at least 8 units, found ${#units[@]}"
assert_empty_output systemd-analyze verify --man=no "${units[@]}"

info "the units say what they must"
key() { # key FILE KEY: the values of KEY in FILE, one a line
	sed -n "s/^$2=//p" "$U/$1"
}
for t in cairn-backup@.timer cairn-check.timer cairn-rehearse@.timer; do
	assert_eq true "$(key "$t" Persistent)" "$t: Persistent"
	[ -n "$(key "$t" RandomizedDelaySec)" ] || fail "$t has no RandomizedDelaySec"
done
assert_eq hourly "$(key cairn-backup@.timer OnCalendar)"
assert_eq weekly "$(key cairn-check.timer OnCalendar)"
assert_eq monthly "$(key cairn-rehearse@.timer OnCalendar)"
assert_eq "/etc/cairn/%i.env" "$(key cairn-backup@.service EnvironmentFile)"
for s in cairn-backup@.service cairn-check.service cairn-rehearse@.service; do
	for k in ProtectSystem PrivateTmp NoNewPrivileges; do
		[ -n "$(key "$s" "$k")" ] || fail "$s lacks $k="
	done
done
# A mount namespace of its own would hide the mount from everyone else.
for k in PrivateTmp ProtectSystem ProtectHome PrivateDevices; do
	[ -z "$(key cairn-mount.service "$k")" ] || fail "cairn-mount.service sets $k="
done
assert_contains "$(cat "$U/cairn-check.service")" "check --read-data=5%%"
assert_contains "$(cat "$U/cairn-backup@.service")" '--before "$$CAIRN_BEFORE"'
assert_contains "$(cat "$U/cairn-backup@.service")" '--after "$$CAIRN_AFTER"'
assert_eq fuse.cairnfs "$(key mnt-cairn.mount Type)"

# exec_start UNIT INSTANCE: runs the unit's ExecStart as systemd would, in
# the environment of this shell.
exec_start() {
	/usr/bin/python3 - "$U/$1" "$2" <<'PY' >"$T/argv"
import shlex, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
line = next(l for l in text.splitlines() if l.startswith("ExecStart="))
words = shlex.split(line[len("ExecStart="):])
for w in words:
    w = w.replace("%i", sys.argv[2]).replace("%%", "%").replace("$$", "$")
    sys.stdout.write(w + "\0")
PY
	local argv=()
	while IFS= read -r -d '' w; do argv+=("$w"); done <"$T/argv"
	"${argv[@]}"
}

info "the ExecStart lines run: backup, check and rehearse of member1"
R=$T/repo
mkdir -p "$T/etc" "$T/data/member1" "$T/metrics"
random_bytes 1M m1 >"$T/data/member1/blocks"
echo conf >"$T/data/member1/conf"
cairn init -r "$R" --no-encryption
cat >"$T/etc/member1.env" <<EOF
CAIRN_REPO=$R
CAIRN_SOURCE=$T/data/member1
CAIRN_BACKUP_OPTIONS="--tag from-env"
CAIRN_METRICS_FILE=$T/metrics/cairn.prom
EOF
(
	set -a
	. "$T/etc/member1.env"
	set +a
	exec_start cairn-backup@.service member1
	exec_start cairn-rehearse@.service member1
	exec_start cairn-check.service ""
) || fail "a unit's command failed"
expect_status 0 cairn snapshots -r "$R" --json
assert_contains "$OUT" '"member1"'
assert_contains "$OUT" "from-env"
assert_contains "$OUT" "systemd"
for c in backup rehearse check; do
	grep -q "^cairn_last_success{.*command=\"$c\".*} 1$" "$T/metrics/cairn.prom" ||
		fail "no successful $c in the metrics: $(cat "$T/metrics/cairn.prom")"
done

info "make install puts the units, the completion and the k8s examples in place"
# install-files: what make install copies, without rebuilding $BUILD with other flags
make -s -C "$SRC" install-files BUILD="$BUILD" DESTDIR="$T/inst" PREFIX=/usr/local >/dev/null
I=$T/inst/usr/local
for f in "$SRC"/tools/systemd/*; do
	[ -f "$I/lib/systemd/system/${f##*/}" ] || fail "${f##*/} not installed"
done
! grep -rq "@BINDIR@" "$I/lib/systemd/system" || fail "@BINDIR@ left in an installed unit"
assert_contains "$(cat "$I/lib/systemd/system/cairn-backup@.service")" "/usr/local/bin/cairn backup"
[ -f "$I/share/bash-completion/completions/cairn" ] || fail "completion not installed"
[ -f "$I/share/doc/cairn/k8s/backup-cronjob.yaml" ] || fail "k8s examples not installed"
[ -x "$I/bin/cairn" ] && [ -x "$I/bin/cairnfs" ] || fail "binaries not installed"
