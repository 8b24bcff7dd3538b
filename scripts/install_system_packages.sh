#!/usr/bin/env bash
# System packages the project needs beside its Python packages: Chromium for Playwright (screenshots, dashboard
# checks), Tesseract for OCR of replay screenshots, and the Prometheus Pushgateway that the observability tests
# start and push to. Debian's packages where apt-get is available (Playwright's own browser download is not
# reachable on every network); otherwise Playwright's Chromium, and OCR stays off.
set -euo pipefail
python=${1:-python3}
missing=()
if ! { [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; } && ! command -v chromium >/dev/null 2>&1; then
  missing+=(chromium)
fi
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-rus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing with apt-get: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
elif [[ " ${missing[*]} " == *" chromium "* ]]; then
  echo "No apt-get: installing Playwright's Chromium (OCR of screenshots stays off without tesseract)"
  "$python" -m playwright install chromium
fi
