#!/usr/bin/env bash
# Installs Debian's headless-capable chromium for tests/test_report_browser.py (CI: call from .ci/run).
# Idempotent; needs root (or sudo) and the Debian package mirror. Prints where chromium is.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    command -v chromium || command -v chromium-browser
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
