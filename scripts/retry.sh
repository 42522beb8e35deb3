# Sourced by run.sh, test.sh and bench.sh. Package downloads on a CI machine sometimes break off mid-body (npm's
# ECONNRESET, a NuGet time-out), which npm's own fetch retries do not cover: "retry CMD..." runs a download step up to
# four times, 10, 20 and 30 s apart.
retry() {
  local attempt
  for attempt in 1 2 3 4; do
    "$@" && return 0
    [ "$attempt" -lt 4 ] && { echo "  attempt $attempt failed; retrying in $((attempt * 10)) s"; sleep $((attempt * 10)); }
  done
  return 1
}
