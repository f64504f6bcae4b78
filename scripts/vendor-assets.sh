#!/usr/bin/env bash
# Fetch the front-end assets from the npm registry into static/vendor/.
# The version and licence are part of each file name; never edit these files by hand.
set -euo pipefail

HTMX_VERSION=2.0.11
PICO_VERSION=2.1.1

root=$(cd "$(dirname "$0")/.." && pwd)
vendor="$root/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "htmx.org@$HTMX_VERSION" "@picocss/pico@$PICO_VERSION" >/dev/null
mkdir htmx pico
tar xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx
tar xzf "picocss-pico-$PICO_VERSION.tgz" -C pico

rm -f "$vendor"/htmx-* "$vendor"/pico-*
cp htmx/package/dist/htmx.min.js "$vendor/htmx-$HTMX_VERSION.0BSD.min.js"
cp htmx/package/LICENSE "$vendor/htmx-$HTMX_VERSION.0BSD.LICENSE.txt"
cp pico/package/css/pico.green.min.css "$vendor/pico-$PICO_VERSION.MIT.green.min.css"
cp pico/package/LICENSE.md "$vendor/pico-$PICO_VERSION.MIT.LICENSE.md"
echo "Vendored htmx $HTMX_VERSION and Pico.css $PICO_VERSION into $vendor"
