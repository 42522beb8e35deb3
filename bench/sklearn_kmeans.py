"""scikit-learn's side of the segmentation benchmark (bench.sh segmentation).

Reads the normalised matrix the .NET side clustered (little-endian float64, row after row), and for every k in
min..max fits sklearn.cluster.KMeans with the same n_init and a sampled silhouette of the same size, then times
KMeans.predict on the model of --predict-k: one call on every row, and one call per row (best of three). Prints one JSON object.
Run it with Debian's /usr/bin/python3 (python3-sklearn); thread counts come from OMP_NUM_THREADS and friends.
"""
import argparse
import json
import resource
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_info


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("points")
    parser.add_argument("--dimensions", type=int, default=8)
    parser.add_argument("--min-k", type=int, default=2)
    parser.add_argument("--max-k", type=int, default=10)
    parser.add_argument("--n-init", type=int, default=3)
    parser.add_argument("--silhouette-sample", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--predict-k", type=int, required=True)
    parser.add_argument("--single-calls", type=int, default=20000)
    args = parser.parse_args()

    X = np.fromfile(args.points, dtype="<f8").reshape(-1, args.dimensions)
    curve = []
    models = {}
    cpu_start = time.process_time()
    for k in range(args.min_k, args.max_k + 1):
        started = time.perf_counter()
        model = KMeans(n_clusters=k, n_init=args.n_init, random_state=args.seed, algorithm="lloyd").fit(X)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        silhouette = silhouette_score(X, model.labels_, sample_size=min(args.silhouette_sample, len(X)), random_state=args.seed)
        silhouette_seconds = time.perf_counter() - started
        models[k] = model
        curve.append({"k": k, "inertia": float(model.inertia_), "silhouette": float(silhouette), "iterations": int(model.n_iter_),
                      "fitSeconds": fit_seconds, "silhouetteSeconds": silhouette_seconds})
        print(f"  sklearn k={k}: {fit_seconds:.2f} s fit, inertia {model.inertia_:.1f}, silhouette {silhouette:.4f}", file=sys.stderr, flush=True)
    sweep_cpu_seconds = time.process_time() - cpu_start

    model = models[args.predict_k]
    model.predict(X[:1000])  # warm-up
    calls = min(args.single_calls, len(X))
    batch_seconds = single_seconds = float("inf")
    for _ in range(3):  # best of three rounds, as on the .NET side
        started = time.perf_counter()
        model.predict(X)
        batch_seconds = min(batch_seconds, time.perf_counter() - started)
        started = time.perf_counter()
        for i in range(calls):
            model.predict(X[i:i + 1])
        single_seconds = min(single_seconds, time.perf_counter() - started)

    print(json.dumps({
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "threads": [{"api": p.get("user_api"), "library": p.get("internal_api"), "threads": p.get("num_threads")} for p in threadpool_info()],
        "rows": len(X),
        "curve": curve,
        "bestSilhouetteK": max(curve, key=lambda p: p["silhouette"])["k"],
        "sweepCpuSeconds": sweep_cpu_seconds,
        "predictK": args.predict_k,
        "predictBatchRowsPerSecond": len(X) / batch_seconds,
        "predictSingleCallsPerSecond": calls / single_seconds,
        "predictSingleCalls": calls,
        # Linux reports ru_maxrss in KiB.
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
