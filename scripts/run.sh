#!/usr/bin/env bash
# Command 1 of the README: install what is missing, build, start the server on
# embedded defaults (memory session store, no Redis) in the foreground.
# Extra arguments go to microtomcat, e.g. -Dhttp.port=9090.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
token=${MT_ADMIN_TOKEN:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}
echo "admin token for this run: $token   (curl -X POST -H 'Authorization: Bearer $token' http://127.0.0.1:8080/admin/reload)"
exec build/bin/microtomcat --config conf/server.properties -Dadmin.token="$token" "$@"
