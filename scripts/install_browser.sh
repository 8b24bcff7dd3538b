#!/usr/bin/env bash
# Chromium for Playwright: Debian's package where apt-get is available (Playwright's own browser download is not
# reachable on every network), otherwise Playwright's build. CHROMIUM_PATH, when set, wins.
set -euo pipefail
python=${1:-python3}
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then exit 0; fi
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing Debian's chromium with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
else
  echo "Installing Playwright's Chromium"
  "$python" -m playwright install chromium
fi
