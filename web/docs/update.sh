#!/usr/bin/env bash
# Refreshes the Swagger UI files that the gateway embeds (internal/engine/docs/assets/swagger-ui/)
# from the swagger-ui-dist version pinned in package-lock.json, so that `go build` needs no
# npm. To move to another version: `npm install --save-exact swagger-ui-dist@X`, then this.
#
#   web/docs/update.sh          npm ci (exactly the lockfile), then copy the files
#   web/docs/update.sh --check  compare the committed files with the installed package;
#                               exit 1 on drift (needs `npm ci` first)
set -euo pipefail
cd "$(dirname "$0")"

src=node_modules/swagger-ui-dist
dst=../../internal/engine/docs/assets/swagger-ui
# Only what the page loads, plus the licence texts: the bundle carries React and the rest
# of Swagger UI's dependencies; the standalone preset, ES builds and source maps are not used.
files=(swagger-ui-bundle.js swagger-ui.css favicon-16x16.png favicon-32x32.png
       LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt)

check=false
case "${1:-}" in
  --check) check=true ;;
  "") npm ci --ignore-scripts --no-audit --no-fund ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
[[ -d $src ]] || { echo "update.sh: $src is missing; run 'npm ci' in web/docs" >&2; exit 1; }

version=$(node -p "require('./$src/package.json').version")
integrity=$(node -p "require('./package-lock.json').packages['node_modules/swagger-ui-dist'].integrity")

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for f in "${files[@]}"; do cp "$src/$f" "$stage/$f"; done
printf 'swagger-ui-dist %s\n%s\nCopied by web/docs/update.sh from the version pinned in web/docs/package-lock.json.\n' \
  "$version" "$integrity" >"$stage/VERSION"

if $check; then
  if ! diff -r "$stage" "$dst" >/dev/null; then
    echo "update.sh: internal/engine/docs/assets/swagger-ui differs from swagger-ui-dist $version in the lockfile;" >&2
    echo "run web/docs/update.sh and commit the result" >&2
    diff -rq "$stage" "$dst" >&2 || true
    exit 1
  fi
  echo "internal/engine/docs/assets/swagger-ui matches swagger-ui-dist $version"
  exit 0
fi

rm -rf "$dst"
mkdir -p "$dst"
cp "$stage"/* "$dst"/
echo "internal/engine/docs/assets/swagger-ui: swagger-ui-dist $version"
du -ch "$dst"/* | tail -1
