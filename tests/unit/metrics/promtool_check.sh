#!/bin/sh
# Lints a populated Metrics exposition with Prometheus's own promtool (Debian package
# "prometheus"); exit 77 (skipped) where it is not installed.
set -u
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool not found (apt-get install prometheus)"
  exit 77
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$1" >"$out" || exit 1
promtool check metrics <"$out"
