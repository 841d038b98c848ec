#!/usr/bin/env bash
# make image: builds the static gateway binary on the host and assembles the image of
# deploy/Containerfile (FROM scratch) with buildah, which needs no daemon and no registry.
#   IMAGE   the image name and tag (default contractgate:<git describe>)
#   OUT     also write the image as an OCI archive to this file (e.g. bin/contractgate.oci.tar)
set -euo pipefail
cd "$(dirname "$0")/.."
image=${IMAGE:-contractgate:$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

CGO_ENABLED=0 go build -trimpath -o "$ctx/contractgate" ./cmd/contractgate
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
echo 'nonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin' >"$ctx/passwd"
echo 'nonroot:x:65532:' >"$ctx/group"

command -v buildah >/dev/null || { echo "image: buildah is not installed (apt-get install buildah)" >&2; exit 1; }
# vfs storage and chroot isolation: no overlay mounts and no user namespaces needed, so it
# builds inside an unprivileged container too. The Containerfile has no RUN step.
bh=(buildah --storage-driver "${STORAGE_DRIVER:-vfs}")
"${bh[@]}" bud --isolation chroot --quiet -f deploy/Containerfile -t "$image" "$ctx" >/dev/null
echo "image: built $image"
if [[ -n "${OUT:-}" ]]; then
  rm -f "$OUT"
  "${bh[@]}" push --quiet "$image" "oci-archive:$OUT:$image"
  echo "image: wrote $OUT"
fi
