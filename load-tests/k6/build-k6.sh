#!/usr/bin/env bash
# Builds k6 from source with the Go toolchain and the Go module proxy into .cache/bin/k6.
# (Raw TCP/UDP needs k6 extensions that the module proxy here does not serve: syslog load comes from
# syslog-ng's loggen instead — see load-tests/README.md.)
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .cache/bin
GOBIN="$PWD/.cache/bin" GOFLAGS=-buildvcs=false go install go.k6.io/k6@v1.8.1
.cache/bin/k6 version
