#!/bin/sh
# The build context of stepkit's container image: FROM scratch, CA certificates (HTTPS to registries,
# Slack, GitHub) and the static binary. Used by the release workflow and by .ci/run, which both build it
# with `stepkit image build` itself.
# Usage: dist/image-context.sh STATIC_BINARY CONTEXT_DIR
set -eu
[ $# -eq 2 ] || { echo "usage: $0 STATIC_BINARY CONTEXT_DIR" >&2; exit 2; }
certs=/etc/ssl/certs/ca-certificates.crt
[ -f "$certs" ] || { echo "$0: $certs is missing (apt-get install ca-certificates)" >&2; exit 2; }
mkdir -p "$2"
cp "$1" "$2/stepkit"
cp "$certs" "$2/ca-certificates.crt"
cat > "$2/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY stepkit /usr/local/bin/stepkit
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/usr/local/bin/stepkit"]
DOCKERFILE
