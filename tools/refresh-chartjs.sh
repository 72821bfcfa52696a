#!/usr/bin/env bash
# Refreshes the vendored Chart.js of the timeline page from npm (its released minified UMD
# file and its licence), and records the version. Usage: tools/refresh-chartjs.sh [VERSION]
set -euo pipefail
version="${1:-4.6.1}"
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/service/trd_cds/timeline/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "chart.js@$version" --silent >/dev/null && tar xzf chart.js-*.tgz)
cp "$work/package/dist/chart.umd.min.js" "$dest/chart.umd.min.js"
cp "$work/package/LICENSE.md" "$dest/chart.js.LICENSE.md"
printf 'chart.js %s (npm), dist/chart.umd.min.js, MIT licence in chart.js.LICENSE.md\n' \
  "$version" > "$dest/VERSIONS.txt"
echo "Chart.js $version vendored into $dest"
