"""The peer of `bench.sh experiment-results`: the same A/B result computed with pandas, numpy and scipy from the
per-user rows the .NET side tallied. Prints one JSON document: the seconds to load the rows, the seconds to compute
(groupby sums, then the tests on the sums), and the figures, so that both sides can be compared.

Usage: python3 pandas_experiment.py rows.csv
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

started = time.perf_counter()
rows = pd.read_csv(sys.argv[1], dtype={"variant": np.int8})
loaded = time.perf_counter()

users = rows.assign(
    converted=(rows.purchases > 0).astype(np.int64),
    clicks2=rows.clicks ** 2,
    impressions2=rows.impressions ** 2,
    clicks_impressions=rows.clicks * rows.impressions,
    revenue2=rows.revenue ** 2,
    covariate2=rows.covariate ** 2,
    revenue_covariate=rows.revenue * rows.covariate,
)
sums = users.groupby("variant").agg(
    n=("revenue", "size"), converters=("converted", "sum"), clicks=("clicks", "sum"), impressions=("impressions", "sum"),
    clicks2=("clicks2", "sum"), impressions2=("impressions2", "sum"), clicks_impressions=("clicks_impressions", "sum"),
    revenue=("revenue", "sum"), revenue2=("revenue2", "sum"), covariate=("covariate", "sum"), covariate2=("covariate2", "sum"),
    revenue_covariate=("revenue_covariate", "sum"))
c, t = sums.loc[0], sums.loc[1]

# Conversion: two-proportion z-test with the pooled standard error (as the .NET side).
p_c, p_t = c.converters / c.n, t.converters / t.n
pooled = (c.converters + t.converters) / (c.n + t.n)
z = (p_t - p_c) / np.sqrt(pooled * (1 - pooled) * (1 / c.n + 1 / t.n))
p_conversion = 2 * stats.norm.sf(abs(z))

# Revenue per user: Welch's t-test from the moments.
def moments(s, total, squares):
    mean = s[total] / s.n
    return mean, (s[squares] - s[total] * mean) / (s.n - 1)
m_c, v_c = moments(c, "revenue", "revenue2")
m_t, v_t = moments(t, "revenue", "revenue2")
welch = stats.ttest_ind_from_stats(m_t, np.sqrt(v_t), t.n, m_c, np.sqrt(v_c), c.n, equal_var=False)

# CTR: delta method on per-user clicks over lists.
def ratio_variance(s):
    mx, my = s.clicks / s.n, s.impressions / s.n
    vx = (s.clicks2 - s.clicks * mx) / (s.n - 1)
    vy = (s.impressions2 - s.impressions * my) / (s.n - 1)
    cxy = (s.clicks_impressions - s.clicks * my) / (s.n - 1)
    r = mx / my
    return r, (vx - 2 * r * cxy + r * r * vy) / (my * my * s.n)
r_c, var_c = ratio_variance(c)
r_t, var_t = ratio_variance(t)
p_ctr = 2 * stats.norm.sf(abs((r_t - r_c) / np.sqrt(var_c + var_t)))

# SRM: chi-square against an even split.
srm = stats.chisquare([c.n, t.n])
computed = time.perf_counter()

print(json.dumps({
    "load_seconds": loaded - started,
    "compute_seconds": computed - loaded,
    "users": int(c.n + t.n),
    "p_conversion": float(p_conversion),
    "p_revenue": float(welch.pvalue),
    "p_ctr": float(p_ctr),
    "p_srm": float(srm.pvalue),
}))
