#!/usr/bin/env bash
# Benchmarks ProfileGrid's ingest paths (events/s acknowledged and end-to-end, exactly-once check, GetProfile
# latency) on the real host, and the same events in Redis. Installs what it needs on first use (redis-server,
# Azurite), builds Release into bench/.build (apart from other builds of src/ and tests/), then runs.
#   bash bench.sh                       # the default run (log-azurite, stream-azurite, log-memory, redis)
#   bash bench.sh --help                # all options
# Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null 2>&1; then
  echo "Installing redis-server (apt-get)..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

if [ ! -x node_modules/.bin/azurite ]; then
  echo "Installing Azurite (npm ci)..."
  npm ci --no-audit --no-fund --loglevel=error
fi

dotnet build bench/ProfileGrid.Benchmarks/ProfileGrid.Benchmarks.csproj -c Release --nologo -v quiet -clp:ErrorsOnly \
  --artifacts-path bench/.build
exec dotnet bench/.build/bin/ProfileGrid.Benchmarks/release/ProfileGrid.Benchmarks.dll "$@"
