#!/usr/bin/env bash
# Install what the tests need and run the whole suite: on SQLite always, then on PostgreSQL
# when TEST_DATABASE_URL is set. Browser tests need /usr/bin/chromium; as root this script
# installs it (and pdftoppm, zbarimg) from Debian's packages when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

make --no-print-directory install

# The probe's PyTorch and Keras tests need torch and keras, which are no dependency of the package.
# Install them into .venv only from a local CPU wheel of torch, pinned to its +cpu version, because
# pip would otherwise download a CUDA build of several GB. Without the wheel those tests are skipped.
TORCH_WHEEL_DIR="${TORCH_WHEEL_DIR:-/opt/wheels}"
if compgen -G "$TORCH_WHEEL_DIR/torch-2.13.0+cpu-*.whl" >/dev/null; then
  echo "Installing torch 2.13.0+cpu from $TORCH_WHEEL_DIR and keras for the probe's framework tests"
  .venv/bin/pip install --quiet --find-links "$TORCH_WHEEL_DIR" "torch==2.13.0+cpu" "keras>=3" \
    || echo "WARNING: installing torch and keras failed; the probe's PyTorch and Keras tests will be skipped." >&2
else
  echo "No torch-2.13.0+cpu wheel in $TORCH_WHEEL_DIR; the probe's PyTorch and Keras tests will be skipped."
fi

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
command -v zbarimg >/dev/null || missing+=(zbar-tools)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing ${missing[*]} from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "WARNING: ${missing[*]} missing and not root; the tests that need them will be skipped." >&2
  fi
fi

status=0
echo "== Test suite on SQLite =="
env -u TEST_DATABASE_URL .venv/bin/pytest "$@" || status=$?

if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "== Test suite on PostgreSQL (browser tests excluded: they ran above) =="
  .venv/bin/pytest -m "not browser" "$@" || status=$?
fi
exit $status
