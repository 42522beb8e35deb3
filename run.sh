#!/usr/bin/env bash
# The main job: installs Azurite (npm) on first use, builds, then the dev host (src/ProfileGrid.DevHost) starts Azurite
# (data under .profilegrid/), the grid (one silo with its gRPC/REST gateway, a process of its own) and feeds it a
# seeded e-commerce event stream through the public gRPC API. Ctrl-C stops everything it started. Extra arguments
# go to the dev host (ProfileGrid:Demo:*, ProfileGrid:Azurite:*) or else to the silo, e.g.
#   ./run.sh --ProfileGrid:Demo:Users=10000
set -euo pipefail
cd "$(dirname "$0")"

source scripts/retry.sh

if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing Azurite (npm ci)..."
  retry npm ci --no-audit --no-fund --loglevel=error
fi

dotnet build src/ProfileGrid.DevHost -c Release --nologo -v quiet -clp:ErrorsOnly
exec dotnet src/ProfileGrid.DevHost/bin/Release/net10.0/ProfileGrid.DevHost.dll "$@"
