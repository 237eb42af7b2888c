#!/bin/sh
# Single-node OpenStack Swift with the S3 API (s3api + tempauth) on loopback,
# the S3 peer of cairn's tests (see tests/lib-s3.sh, which picks free ports).
# Usage: swift-s3.sh start|resume|stop   (env: D=state dir, PORT=S3 port, BASE=
# first of three backend ports BASE..BASE+2, BIND=address the S3 port listens
# on, default 127.0.0.1; the backends always use 127.0.0.1). start wipes and
# rewrites $D, starts the account, container, object and proxy servers and
# waits for /healthcheck; resume starts them again on the configuration and
# data a stopped start left in $D (same ports); stop ends them (TERM, then
# KILL after 10 s) and waits until they are gone.
# $D must be on a filesystem with user xattrs (ext4, tmpfs on recent kernels).
# Credentials: access key id "test:tester", secret $SECRET (default "testing"),
# region us-east-1.
set -eu
D=${D:-/tmp/swift-s3}; PORT=${PORT:-8080}; BASE=${BASE:-6200}; BIND=${BIND:-127.0.0.1}
SECRET=${SECRET:-testing}
OBJ=$BASE; CONT=$((BASE+1)); ACC=$((BASE+2))
if [ "${1:-start}" = stop ]; then
  [ -f "$D/pids" ] || exit 0
  pids=$(cat "$D/pids")
  for p in $pids; do kill "$p" 2>/dev/null || true; kill -CONT "$p" 2>/dev/null || true; done
  i=0
  for p in $pids; do
    while kill -0 "$p" 2>/dev/null; do
      i=$((i+1)); [ $i -gt 100 ] && { kill -9 "$p" 2>/dev/null || true; break; }; sleep 0.1
    done
  done
  rm -f "$D/pids"; exit 0
fi
if [ "${1:-start}" = resume ]; then
  [ -f "$D/etc/proxy-server.conf" ] || { echo "swift-s3: nothing to resume in $D" >&2; exit 1; }
  [ ! -f "$D/pids" ] || { echo "swift-s3: $D still runs (stop it first)" >&2; exit 1; }
  PORT=$(sed -n 's/^bind_port = //p' "$D/etc/proxy-server.conf")
else
rm -rf "$D"; mkdir -p "$D/etc" "$D/node/d1" "$D/log"
cat > "$D/etc/swift.conf" <<EOC
[swift-hash]
swift_hash_path_suffix = ci-suffix
swift_hash_path_prefix = ci-prefix
[storage-policy:0]
name = Policy-0
default = yes
EOC
for s in account:$ACC container:$CONT object:$OBJ; do
  n=${s%%:*}; p=${s##*:}
  cat > "$D/etc/$n-server.conf" <<EOC
[DEFAULT]
swift_dir = $D/etc
devices = $D/node
mount_check = false
bind_ip = 127.0.0.1
bind_port = $p
workers = 0
[pipeline:main]
pipeline = $n-server
[app:$n-server]
use = egg:swift#$n
EOC
  (cd "$D/etc" && swift-ring-builder $n.builder create 8 1 1 >/dev/null &&
     swift-ring-builder $n.builder add r1z1-127.0.0.1:$p/d1 1 >/dev/null &&
     { swift-ring-builder $n.builder rebalance >/dev/null || true; })
done
cat > "$D/etc/proxy-server.conf" <<EOC
[DEFAULT]
swift_dir = $D/etc
bind_ip = $BIND
bind_port = $PORT
workers = 0
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = us-east-1
storage_domain = s3.localhost
# min_segment_size = 5242880   (S3's 5 MiB minimum part size; lower it to speed up multipart tests)
[filter:tempauth]
use = egg:swift#tempauth
# S3 access key id "test:tester", secret $SECRET
user_test_tester = $SECRET .admin
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOC
fi
: > "$D/pids"
for s in account container object proxy; do
  setsid swift-$s-server "$D/etc/$s-server.conf" -v >> "$D/log/$s.log" 2>&1 < /dev/null &
  echo $! >> "$D/pids"
done
# Wait up to 60 s (a busy machine is slow to import Swift), failing at once if a server dies.
i=0; until curl -sf "http://$BIND:$PORT/healthcheck" >/dev/null; do
  dead=""; for p in $(cat "$D/pids"); do kill -0 "$p" 2>/dev/null || dead=1; done
  i=$((i+1))
  if [ -n "$dead" ] || [ $i -gt 600 ]; then
    echo "swift did not start" >&2; tail -n 20 "$D"/log/*.log >&2; exit 1
  fi
  sleep 0.1; done
echo "S3 endpoint http://$BIND:$PORT  key=test:tester secret=$SECRET region=us-east-1"
