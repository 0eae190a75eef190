#!/usr/bin/env bash
# Vet, test and build the agency client: ./build.sh [OUTPUT_DIR] (default bin/). Needs Go 1.26 and the Go
# module proxy (the default GOPROXY) for the first download of the modules go.sum pins.
set -euo pipefail
cd "$(dirname "$0")"
go vet ./... && go test ./... && go build -o "${1:-bin}/mash-agency" ./cmd/mash-agency
