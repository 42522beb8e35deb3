#!/usr/bin/env bash
# Benchmarks ProfileGrid's ingest paths (events/s acknowledged and end-to-end, exactly-once check, GetProfile
# latency) on the real host, and the same events in Redis; or, with "segmentation", the segmentation library's k-means
# against scikit-learn on the same points; or, with "growth", ingest and reads with 3k, 100k and 1M resident users;
# or, with "recommender-train", item-item CF and EASE training against numpy/scipy on the same data; or, with
# "recommend", Recommend latency and host CPU per request at a fixed rate on the real host.
# Installs what it needs on first use (redis-server and Azurite, python3-sklearn or python3-scipy), builds Release into bench/.build
# (apart from other builds of src/ and tests/), then runs.
#   bash bench.sh                       # the default run (log-azurite, stream-azurite, log-memory, redis)
#   bash bench.sh --help                # all options
#   bash bench.sh segmentation          # k-means k sweep against scikit-learn at 100k and 1M users (--help: options)
#   bash bench.sh memory --users 100000 # bytes per resident profile grain of the demo mix, in one silo (--help: options)
#   bash bench.sh storage-costs         # Azurite's CPU per request: table rows alone and in transactions, blobs, appends
#   bash bench.sh growth                # ingest and reads at 3k, 100k and 1M resident users, against 3k (--help: options;
#                                       # 1M: about 7 GiB of live heap in the host, see docs/benchmarks.md)
#   bash bench.sh recommender-train     # item-item CF and EASE training time and peak memory at 100k users x 20k items,
#                                       # .NET against numpy/scipy (--help: options)
#   bash bench.sh experiment-results    # an A/B result at 1M exposed users as the feedback shards compute it, against
#                                       # pandas + scipy on the same rows (--help: options)
#   bash bench.sh feedback              # after recommend's history: impressions (10 items) and clicks ingested, acknowledged
#                                       # and end to end; Recommend before and after feedback and with an experiment running
#   bash bench.sh stats-cost            # ingest with cluster stats collection on and off, alternating, in one run
#   bash bench.sh lake                  # lake archive throughput: events/s from the log's append blobs to Parquet on
#                                       # Azurite (--events N [200000], --partitions P [4], --step R [2000])
#   bash bench.sh import                # an Online Retail-shaped CSV of 1M rows imported by profilegrid import-events into a
#                                       # log-azurite host: rows/s and events/s acknowledged and durable (--help: options)
#   bash bench.sh recommend             # Recommend at 1,000/s for 100k users x 20k items: p50/p99, host CPU per call,
#                                       # then the most it serves with 16 in flight (--help: options)
#   bash bench.sh key-cost              # Recommend and GetProfile latency with API key checks on and off, two hosts
#                                       # measured alternately in one run (--help: options)
# Results: docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")"

source scripts/retry.sh

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if [ "${1:-}" = "segmentation" ]; then
  # The peer is scikit-learn itself: Debian's python3-sklearn, for /usr/bin/python3 (as test.sh).
  if ! /usr/bin/python3 -c "import sklearn" >/dev/null 2>&1; then
    echo "Installing scikit-learn (apt-get install python3-sklearn)..."
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-sklearn >/dev/null
  fi
elif [ "${1:-}" = "experiment-results" ]; then
  # The peer is pandas + scipy: Debian's python3-pandas and python3-scipy, for /usr/bin/python3.
  if ! /usr/bin/python3 -c "import scipy, pandas" >/dev/null 2>&1; then
    echo "Installing pandas and scipy (apt-get install python3-pandas python3-scipy)..."
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pandas python3-scipy >/dev/null
  fi
elif [ "${1:-}" = "recommender-train" ]; then
  # The peer is numpy/scipy: Debian's python3-scipy (which brings python3-numpy), for /usr/bin/python3.
  if ! /usr/bin/python3 -c "import scipy" >/dev/null 2>&1; then
    echo "Installing scipy (apt-get install python3-scipy)..."
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-scipy >/dev/null
  fi
elif [ "${1:-}" != "memory" ] && [ "${1:-}" != "growth" ] && [ "${1:-}" != "storage-costs" ] && [ "${1:-}" != "recommend" ] && [ "${1:-}" != "feedback" ] && [ "${1:-}" != "stats-cost" ] && [ "${1:-}" != "import" ] && [ "${1:-}" != "key-cost" ] && [ "${1:-}" != "lake" ] && ! command -v redis-server >/dev/null 2>&1; then
  echo "Installing redis-server (apt-get)..."
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi

# recommend needs Azurite only with --storage azurite.
needs_azurite=yes
case "${1:-}" in
  segmentation|memory|recommender-train|experiment-results) needs_azurite=no ;;
  recommend|feedback|key-cost) case " $* " in *" --storage azurite "*|*" --storage=azurite "*) ;; *) needs_azurite=no ;; esac ;;
esac
if [ "$needs_azurite" = yes ] && [ ! -x node_modules/.bin/azurite ]; then
  echo "Installing Azurite (npm ci)..."
  retry npm ci --no-audit --no-fund --loglevel=error
fi

if [ "${1:-}" = "stats-cost" ]; then
  # ABBA order per configuration, so that drift on a shared machine weighs on both sides alike.
  shift
  set -- --configs log-memory,log-memory-nostats,log-memory-nostats,log-memory,log-azurite,log-azurite-nostats,log-azurite-nostats,log-azurite \
    --no-redis --no-reads "$@"
fi

dotnet build bench/ProfileGrid.Benchmarks/ProfileGrid.Benchmarks.csproj -c Release --nologo -v quiet -clp:ErrorsOnly \
  --artifacts-path bench/.build
# The load generator allocates ~11 KB per Recommend call in the gRPC client; with the default gen0 budget it collected
# 4-6 times a second and its pauses were counted as the host's latency. A 512 MB gen0 makes that one collection in the
# whole measured phase. The host does not inherit it (ChildProcess removes it).
export DOTNET_GCgen0size=0x20000000
exec dotnet bench/.build/bin/ProfileGrid.Benchmarks/release/ProfileGrid.Benchmarks.dll "$@"
