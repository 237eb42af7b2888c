#!/usr/bin/env bash
# The Kubernetes examples of tools/k8s: every manifest (and the pod template
# inside the CronJob's ConfigMap) parses as YAML with what Kubernetes needs;
# the Role grants exactly the verbs on the resources the backup script's
# kubectl calls need, with no wildcard and no cluster scope; secrets stay out
# of argv. Then the backup script runs against a stand-in kubectl (no
# cluster runs here) that records its calls: every member's PVC gets a pod
# running the backup and the retention, and with SCALE_DOWN the StatefulSet
# is scaled to 0 and back to its replica count, also when a backup fails
# and when the job is stopped (SIGTERM) in the middle of one.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-yaml
$PY -c 'import yaml' 2>/dev/null || fail "python3-yaml is missing (hint: apt-get install python3-yaml)"
K=$SRC/tools/k8s

info "every manifest parses; RBAC is exact and has no wildcard"
$PY - "$K" "$T" <<'PY'
import glob, os, re, sys, yaml

k8s, tmp = sys.argv[1], sys.argv[2]
docs = []
for path in sorted(glob.glob(os.path.join(k8s, "*.yaml"))):
    for d in yaml.safe_load_all(open(path)):
        if d is None:
            continue
        for key in ("apiVersion", "kind", "metadata"):
            assert key in d, f"{path}: a document without {key}"
        assert d["metadata"].get("name"), f"{path}: a {d['kind']} without a name"
        assert d["metadata"].get("namespace") == "blockchain", f"{path}: {d['kind']} namespace"
        docs.append((path, d))
kinds = {d["kind"] for _, d in docs}
for k in ("ServiceAccount", "Role", "RoleBinding", "ConfigMap", "CronJob", "Job", "Secret"):
    assert k in kinds, f"no {k} among the manifests"
assert "ClusterRole" not in kinds and "ClusterRoleBinding" not in kinds, "cluster-wide RBAC"

def walk(x):
    if isinstance(x, dict):
        for k, v in x.items():
            yield k
            yield from walk(v)
    elif isinstance(x, list):
        for v in x:
            yield from walk(v)
    else:
        yield x

role = next(d for _, d in docs if d["kind"] == "Role")
assert "*" not in [str(v) for v in walk(role)], "a wildcard in the Role"
granted = set()
for rule in role["rules"]:
    assert set(rule) == {"apiGroups", "resources", "verbs"}, f"unexpected rule keys {rule}"
    for g in rule["apiGroups"]:
        for r in rule["resources"]:
            for v in rule["verbs"]:
                granted.add((g, r, v))
want = {
    ("apps", "statefulsets", "get"), ("apps", "statefulsets", "list"),
    ("apps", "statefulsets/scale", "get"), ("apps", "statefulsets/scale", "patch"),
    ("apps", "statefulsets/scale", "update"),
    ("", "pods", "get"), ("", "pods", "list"), ("", "pods", "watch"),
    ("", "pods", "create"), ("", "pods", "delete"), ("", "pods/log", "get"),
    ("", "persistentvolumeclaims", "get"), ("", "persistentvolumeclaims", "list"),
}
assert granted == want, f"Role grants {sorted(granted - want)} beyond, lacks {sorted(want - granted)}"

binding = next(d for _, d in docs if d["kind"] == "RoleBinding")
sa = next(d for _, d in docs if d["kind"] == "ServiceAccount")
assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                              "name": role["metadata"]["name"]}
assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                "namespace": "blockchain"}]

cron = next(d for _, d in docs if d["kind"] == "CronJob")
assert cron["spec"]["concurrencyPolicy"] == "Forbid"
pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
assert pod["serviceAccountName"] == sa["metadata"]["name"]
cm = next(d for _, d in docs if d["kind"] == "ConfigMap")
script = cm["data"]["backup.sh"]
open(os.path.join(tmp, "backup.sh"), "w").write(script)

# Each kubectl call of the script, and what it needs of the API.
needs = {
    ("get", "statefulset"): {("apps", "statefulsets", "get")},
    ("scale", "statefulset"): {("apps", "statefulsets/scale", "get"),
                               ("apps", "statefulsets/scale", "patch")},
    ("wait", "pod"): {("", "pods", "get"), ("", "pods", "list"), ("", "pods", "watch")},
    ("get", "pod"): {("", "pods", "get")},
    ("get", "pvc"): {("", "persistentvolumeclaims", "get")},
    ("create", "-f"): {("", "pods", "create")},
    ("logs", "pod"): {("", "pods/log", "get")},
    ("delete", "pod"): {("", "pods", "delete")},
}
calls = re.findall(r'kubectl\s+(\w+)\s+"?(-f|\$?\w+|pod|pvc)', script)
assert calls, "no kubectl calls found in backup.sh"
for verb, obj in calls:
    obj = {"\"pod": "pod"}.get(obj, obj)
    if obj.startswith("$"):
        obj = "pod"  # kubectl wait/get/delete/logs "pod/$x"
    key = (verb, obj if obj in ("statefulset", "pvc", "-f") else "pod")
    assert key in needs, f"backup.sh calls kubectl {verb} {obj}, which the test does not know"
    assert needs[key] <= granted, f"kubectl {verb} {obj} needs {needs[key] - granted}"

# The pod template, filled in as backup.sh fills it, is a valid Pod.
tpl = cm["data"]["pod.yaml"]
for k, v in {"@POD@": "p", "@NODE@": "n", "@MEMBER@": "m", "@PVC@": "data-m",
             "@IMAGE@": "img", "@ARGS@": "backup --member m /data"}.items():
    tpl = tpl.replace(k, v)
p = yaml.safe_load(tpl)
assert p["kind"] == "Pod" and p["spec"]["restartPolicy"] == "Never"
vols = {v["name"]: v for v in p["spec"]["volumes"]}
assert vols["data"]["persistentVolumeClaim"] == {"claimName": "data-m", "readOnly": True}

# No secret in any argv.
for path, d in docs + [("pod.yaml", p)]:
    for v in walk(d):
        if isinstance(v, str) and ("AWS_SECRET" in v or "CAIRN_PASSWORD=" in v):
            assert d["kind"] in ("Secret", "ConfigMap"), f"{path}: a secret in {d['kind']}"
job = next(d for _, d in docs if d["kind"] == "Job")
c = job["spec"]["template"]["spec"]["containers"][0]
assert c["args"][:2] == ["restore", "replica-2/latest"] and "--target" in c["args"]
print("manifests ok")
PY

info "the backup script against a stand-in kubectl, with SCALE_DOWN and a failing member"
mkdir -p "$T/bin" "$T/pods" "$T/scripts"
$PY -c 'import sys,yaml; d=list(yaml.safe_load_all(open(sys.argv[1])))[0]; open(sys.argv[2],"w").write(d["data"]["pod.yaml"])' \
	"$K/backup-cronjob.yaml" "$T/pod.yaml"
sed -i "s|/scripts/pod.yaml|$T/pod.yaml|" "$T/backup.sh"
cat >"$T/bin/kubectl" <<'EOF'
#!/bin/sh
# Records each call; answers as a cluster with StatefulSet "replica" of 2.
echo "$*" >>"$KLOG"
case "$1 $2" in
"get statefulset") echo 2 ;;
"get pod/"*) echo node-7 ;;
"create -f") n=$(ls "$KPODS" | wc -l); cat >"$KPODS/$n.yaml" ;;
"wait pod/"*)
	case "$*" in *Succeeded*)
		# KHOLD: block here until that file appears (the job is being stopped).
		if [ -n "${KHOLD:-}" ]; then
			echo held >"$KHOLD.reached"
			while [ ! -e "$KHOLD" ]; do sleep 0.05; done
		fi
		case "$2" in *"$KFAIL"*) exit 1 ;; esac ;;
	esac ;;
esac
exit 0
EOF
chmod +x "$T/bin/kubectl"
run_backup() { # run_backup SCALE_DOWN FAIL: the script's exit status in $STATUS
	rm -f "$T/klog" "$T/pods"/*
	STATUS=0
	env PATH="$T/bin:$PATH" KLOG="$T/klog" KPODS="$T/pods" KFAIL="$2" STATEFULSETS=replica \
		PVC_PREFIX=data SCALE_DOWN="$1" CAIRN_IMAGE=img MEMBER_TIMEOUT=1m \
		RETENTION="--keep-last 5" sh "$T/backup.sh" >"$T/out" 2>&1 || STATUS=$?
}
run_backup true replica-1
assert_eq 1 "$STATUS" "a failed member's backup must fail the job"
assert_eq "scale statefulset replica --replicas=0" "$(grep '^scale' "$T/klog" | head -n 1)"
assert_eq "scale statefulset replica --replicas=2" "$(grep '^scale' "$T/klog" | tail -n 1)" \
	"not scaled back after the failure"
assert_eq 2 "$(grep -c '^scale' "$T/klog")"
first_create=$(grep -n '^create' "$T/klog" | head -n 1 | cut -d: -f1)
scale_up=$(grep -n 'replicas=2' "$T/klog" | cut -d: -f1)
[ "$first_create" -lt "$scale_up" ] || fail "scaled back before the backups ran"
grep -q '^wait pod/replica-0 --for=delete' "$T/klog" || fail "did not wait for the pods to go"
$PY - "$T/pods" <<'PY'
import glob, sys, yaml
pods = [yaml.safe_load(open(p)) for p in sorted(glob.glob(sys.argv[1] + "/*.yaml"))]
assert len(pods) == 2, pods
for i, p in enumerate(pods):
    s = p["spec"]
    assert s["nodeName"] == "", "a pinned node while the StatefulSet is scaled down"
    assert s["volumes"][0]["persistentVolumeClaim"]["claimName"] == f"data-replica-{i}"
    cmd = s["containers"][0]["command"][2]
    assert cmd == (f"cairn backup --member replica-{i} --tag k8s /data && "
                   f"cairn forget --member replica-{i} --keep-last 5"), cmd
PY
grep -q "backup of replica-1 failed" "$T/out" || fail "the failure is not reported: $(cat "$T/out")"

info "without SCALE_DOWN: no scaling, each pod on its member's node"
run_backup false none
assert_eq 0 "$STATUS"
! grep -q '^scale' "$T/klog" || fail "scaled without SCALE_DOWN"
grep -q 'nodeName: "node-7"' "$T/pods/0.yaml" || fail "the backup pod is not on the member's node"

info "SIGTERM during a backup: scaled back, no further member, exit 1"
rm -f "$T/klog" "$T/pods"/* "$T/hold" "$T/hold.reached"
env PATH="$T/bin:$PATH" KLOG="$T/klog" KPODS="$T/pods" KFAIL=none KHOLD="$T/hold" \
	STATEFULSETS=replica PVC_PREFIX=data SCALE_DOWN=true CAIRN_IMAGE=img MEMBER_TIMEOUT=1m \
	RETENTION="" sh "$T/backup.sh" >"$T/out" 2>&1 &
job=$!
until=$(deadline_in 20)
while [ ! -e "$T/hold.reached" ]; do
	[ "$(now)" -lt "$until" ] || fail "the backup pod was never waited for: $(cat "$T/klog")"
	sleep 0.05
done
kill -TERM "$job"
touch "$T/hold" # the kubectl wait in progress returns; the trap runs then
st=0
wait "$job" || st=$?
assert_eq 1 "$st" "a stopped job must fail"
assert_eq "scale statefulset replica --replicas=2" "$(grep '^scale' "$T/klog" | tail -n 1)" \
	"not scaled back after SIGTERM"
assert_eq 1 "$(grep -c '^create' "$T/klog")" "another member was started after SIGTERM"
grep -q '^delete pod/cairn-backup-replica-0-' "$T/klog" || fail "the backup pod in progress was left running"
