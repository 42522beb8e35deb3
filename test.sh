#!/usr/bin/env bash
# Runs every ProfileGrid test: unit, cluster (Orleans TestingHost), integration (real Azurite, real gRPC) and
# cross-checks against scikit-learn and scipy.
# Ends with one line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

source scripts/retry.sh

if [ ! -x node_modules/.bin/azurite ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing Azurite and Chart.js (npm ci)..."
  retry npm ci --no-audit --no-fund --loglevel=error >/dev/null || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi

# The segmentation tests compare with scikit-learn and pandas themselves, the experiment statistics with scipy
# (Debian's python3-sklearn, python3-pandas and python3-scipy, for /usr/bin/python3).
if ! /usr/bin/python3 -c "import sklearn, pandas, scipy" >/dev/null 2>&1; then
  echo "Installing scikit-learn, pandas and scipy (apt-get install python3-sklearn python3-pandas python3-scipy)..."
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get -o Acquire::Retries=5 update -qq && $sudo apt-get -o Acquire::Retries=5 install -y -qq python3-sklearn python3-pandas python3-scipy; } >/dev/null 2>&1 \
    || echo "Could not install python3-sklearn, python3-pandas and python3-scipy; the cross-check tests will fail."
fi

# The dashboard's browser tests drive Debian's chromium (Playwright's own browser download is not used).
if [ ! -x /usr/bin/chromium ]; then
  echo "Installing chromium for the dashboard's browser tests (apt-get install chromium)..."
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get -o Acquire::Retries=5 update -qq && $sudo apt-get -o Acquire::Retries=5 install -y -qq chromium; } >/dev/null 2>&1 \
    || echo "Could not install chromium; the dashboard's browser tests will fail."
fi

# The deployment files are checked offline with yamllint, kubectl and docker-compose (Debian's yamllint,
# kubernetes-client and docker-compose).
if ! command -v yamllint >/dev/null || ! command -v kubectl >/dev/null || ! command -v docker-compose >/dev/null; then
  echo "Installing yamllint, kubectl and docker-compose for the deployment file checks (apt-get install yamllint kubernetes-client docker-compose)..."
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get -o Acquire::Retries=5 update -qq && $sudo apt-get -o Acquire::Retries=5 install -y -qq yamllint kubernetes-client docker-compose; } >/dev/null 2>&1 \
    || echo "Could not install yamllint, kubernetes-client and docker-compose; the deployment file tests will fail."
fi

echo "Restoring NuGet packages..."
retry dotnet restore ProfileGrid.sln --nologo -v quiet || { echo "dotnet restore failed"; echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
# A test that hangs is stopped after 10 minutes (the longest takes under three): its test host is killed, the run
# names it ("The active test run was aborted" and the tests that were running) and goes on with the other projects,
# instead of the whole run waiting until CI's time limit with nothing said. Whatever else stalls, the run as a whole
# ends after 70 minutes (it takes about 25) and still prints its counts. Not at a terminal: timeout puts the tests in a
# process group of their own (so that it can stop all of them), which a terminal's Ctrl-C would then not reach.
limit=(timeout --kill-after=60s 70m)
[ -t 0 ] && limit=()
"${limit[@]}" dotnet test ProfileGrid.sln -c Release --nologo --no-restore --blame-hang-timeout 10m --blame-hang-dump-type none "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "The tests did not finish within 70 minutes and were stopped; the projects without a summary above did not finish."
fi

# dotnet test prints one summary per test project: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, Total: 12, ..."
read -r passed failed skipped projects < <(grep -E '(Passed|Failed)!  - Failed:' "$log" | awk -F'[:,]' '
  { f += $2; p += $4; s += $6; n++ } END { printf "%d %d %d %d\n", p, f, s, n }')
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1   # a build error or a crashed test host: count it, so the run cannot look green
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
