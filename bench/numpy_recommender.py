"""numpy/scipy's side of the recommender training benchmark (bench.sh recommender-train).

Reads the users x items matrix the .NET side generated (little-endian: int32 users, items, nnz; int32 row starts;
int32 item indices; float32 weights) and runs one phase, timed:
  cf:   item-item cosine with shrinkage, sim = a.b / (|a||b| + shrink), top-k neighbours per item: the co-occurrence
        matrix X'X as a scipy sparse product, then each row's top k by numpy (argpartition, ties by item index).
  ease: the most popular --max-items items (distinct users, ties by index), G = Xk'Xk dense, P = inv(G + lambda I),
        B = -P / diag(P), diag(B) = 0 (Steck 2019).
Prints one JSON object. Run it with Debian's /usr/bin/python3; thread counts come from OMP_NUM_THREADS and friends.
"""
import argparse
import json
import resource
import sys
import time

import numpy as np
import scipy
import scipy.sparse as sp

try:
    from threadpoolctl import threadpool_info
except ImportError:  # python3-threadpoolctl comes with scikit-learn; the thread counts are then unknown
    def threadpool_info():
        return []


def load(path):
    header = np.fromfile(path, dtype="<i4", count=3)
    users, items, nnz = (int(v) for v in header)
    offset = 12
    indptr = np.fromfile(path, dtype="<i4", count=users + 1, offset=offset)
    offset += 4 * (users + 1)
    indices = np.fromfile(path, dtype="<i4", count=nnz, offset=offset)
    offset += 4 * nnz
    data = np.fromfile(path, dtype="<f4", count=nnz, offset=offset).astype(np.float64)
    return sp.csr_matrix((data, indices, indptr), shape=(users, items))


def item_cf(X, shrink, k):
    G = (X.T @ X).tocsr()
    norms = np.sqrt(G.diagonal())
    neighbours = 0
    total = 0.0
    first = []
    for i in range(G.shape[0]):
        start, end = G.indptr[i], G.indptr[i + 1]
        cols = G.indices[start:end]
        sims = G.data[start:end] / (norms[i] * norms[cols] + shrink)
        keep = cols != i
        cols, sims = cols[keep], sims[keep].astype(np.float32)
        if len(cols) > k:
            # The k best by (-sim, index): partition on the k-th value, then sort what is kept.
            part = np.argpartition(-sims, k - 1)[:k]
            threshold = sims[part].min()
            candidates = np.nonzero(sims >= threshold)[0]
            order = candidates[np.lexsort((cols[candidates], -sims[candidates]))][:k]
        else:
            order = np.lexsort((cols, -sims))
        neighbours += len(order)
        total += float(sims[order].astype(np.float64).sum())
        if i == 0:
            first = [int(c) for c in cols[order][:5]]
    return {"neighbours": neighbours, "similaritySum": total, "firstNeighbours": first, "cooccurrenceNonZeros": int(G.nnz)}


def ease(X, max_items, lam):
    counts = X.getnnz(axis=0)
    items = np.arange(X.shape[1])
    popular = items[counts > 0]
    order = np.lexsort((popular, -counts[popular]))[:max_items]
    kept = np.sort(popular[order])
    Xk = X[:, kept]
    G = (Xk.T @ Xk).toarray()
    G[np.diag_indices_from(G)] += lam
    P = np.linalg.inv(G)
    B = P / (-np.diag(P))
    np.fill_diagonal(B, 0.0)
    return {"items": int(len(kept)), "absoluteSum": float(np.abs(B).sum()), "b01": float(B[0, 1])}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("matrix")
    parser.add_argument("--phase", choices=["cf", "ease"], required=True)
    parser.add_argument("--shrink", type=float, default=10)
    parser.add_argument("--neighbours", type=int, default=50)
    parser.add_argument("--max-items", type=int, default=3000)
    parser.add_argument("--lambda", dest="lam", type=float, default=500)
    args = parser.parse_args()

    X = load(args.matrix)
    cpu = time.process_time()
    started = time.perf_counter()
    result = item_cf(X, args.shrink, args.neighbours) if args.phase == "cf" else ease(X, args.max_items, args.lam)
    seconds = time.perf_counter() - started
    result.update({
        "phase": args.phase,
        "seconds": seconds,
        "cpuSeconds": time.process_time() - cpu,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "python": sys.version.split()[0],
        "threads": ", ".join(f"{p.get('internal_api')} {p.get('num_threads')}" for p in threadpool_info()),
        # Linux reports ru_maxrss in KiB.
        "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    })
    print(json.dumps(result))


if __name__ == "__main__":
    main()
