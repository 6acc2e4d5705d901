#!/usr/bin/env bash
# tsc emits only .js: non-TypeScript files that src/ reads at run time are copied beside them.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p dist/src/store
cp -r src/store/lua dist/src/store/
mkdir -p dist/src/users && cp -r src/users/lua dist/src/users/
mkdir -p dist/src/throttle && cp -r src/throttle/lua dist/src/throttle/
[ -d src/views/assets ] && mkdir -p dist/src/views && cp -r src/views/assets dist/src/views/ || true
# The browser session client is plain JavaScript with a hand-written .d.ts: served as-is
# and exported as sliding-sessions/client.
mkdir -p dist/src/client && cp src/client/session-client.js src/client/session-client.d.ts dist/src/client/
