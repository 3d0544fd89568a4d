#!/usr/bin/env bash
# The HTML reports in a real browser: renders `diagnose` and `builds
# --format html` of lab scenarios with headless Chromium to PNG and checks
# that each page is not blank, shows its diagram's colours and that
# Chromium logged no error of the page (tests/reports/chromium.rs).
#
#   scripts/render_html.sh                 # the check (needs `chromium`)
#   scripts/render_html.sh --update-docs   # the check, then refresh the
#                                          # README's screenshot in docs/
#
# Chromium is Debian's package: apt-get install -y chromium. As root (CI),
# Chromium runs with --no-sandbox; the D-Bus errors a container logs are
# not the page's and are ignored.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v "${AIBNET_CHROMIUM_BIN:-chromium}" >/dev/null; then
    echo "render_html.sh: ${AIBNET_CHROMIUM_BIN:-chromium} not found (apt-get install -y chromium)" >&2
    exit 2
fi

shots=$(mktemp -d)
trap 'rm -rf "$shots"' EXIT
AIBNET_CHROMIUM=1 AIBNET_SCREENSHOTS="$shots" \
    cargo test --test reports chromium -- --nocapture

if [ "${1:-}" = "--update-docs" ]; then
    cp "$shots/diagnose-proxy-to-buildvm-dropped.png" docs/report-diagnose.png
    echo "render_html.sh: docs/report-diagnose.png updated"
fi
