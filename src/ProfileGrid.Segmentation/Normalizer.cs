namespace ProfileGrid.Segmentation;

/// <summary>How each column is centred and scaled after the optional log1p step.</summary>
public enum NormalizationKind
{
    /// <summary>(x - min) / (max - min): maps the fitted data to [0, 1].</summary>
    MinMax,

    /// <summary>(x - mean) / stddev, with the population standard deviation (divide by n).</summary>
    ZScore,
}

/// <summary>
/// A fitted per-column transform, stored with a clustering model so that assigning new profiles uses exactly the
/// transform the model was trained with. It is persisted through its plain public properties
/// (<see cref="Kind"/>, <see cref="Log1pColumns"/>, <see cref="Offsets"/>, <see cref="Scales"/>).
/// </summary>
/// <remarks>
/// <para>
/// Step 1: columns flagged in <see cref="Log1pColumns"/> are replaced by log(1 + x). Monetary value, purchase frequency
/// and session counts are heavy-tailed and non-negative: a handful of big spenders sit orders of magnitude above the
/// median, so on the raw scale they dominate every Euclidean distance (and, with min-max, squash everyone else into a
/// sliver near 0). log1p compresses the tail while keeping 0 at 0 and preserving order, so distances reflect relative
/// rather than absolute differences. Flagged columns must be non-negative.
/// </para>
/// <para>
/// Step 2: z = (x - Offset) / Scale per column, where Offset/Scale are min/range (<see cref="NormalizationKind.MinMax"/>)
/// or mean/population-stddev (<see cref="NormalizationKind.ZScore"/>), computed on the (log1p-transformed) fitted data.
/// A constant column gets Scale = 1, so it maps to 0 and contributes nothing to distances.
/// </para>
/// </remarks>
public sealed class Normalizer
{
    /// <summary>For deserialisers; use <see cref="Fit"/> to create a usable instance.</summary>
    public Normalizer()
    {
    }

    public NormalizationKind Kind { get; set; }

    /// <summary>Per column: whether log1p is applied before centring/scaling.</summary>
    public bool[] Log1pColumns { get; set; } = [];

    /// <summary>Per column: min (MinMax) or mean (ZScore) of the log1p-transformed fitted data.</summary>
    public double[] Offsets { get; set; } = [];

    /// <summary>Per column: range (MinMax) or population stddev (ZScore); 1 for a constant column.</summary>
    public double[] Scales { get; set; } = [];

    public int Dimensions => Offsets.Length;

    public static Normalizer Fit(double[][] rows, NormalizationKind kind, IReadOnlyList<bool> log1pColumns)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(log1pColumns);
        if (rows.Length == 0)
        {
            throw new ArgumentException("Cannot fit a normaliser on zero rows.", nameof(rows));
        }

        var d = log1pColumns.Count;
        var log = log1pColumns.ToArray();
        var pre = new double[rows.Length][];
        for (var i = 0; i < rows.Length; i++)
        {
            if (rows[i] is null || rows[i].Length != d)
            {
                throw new ArgumentException($"Row {i} does not have {d} columns.", nameof(rows));
            }

            pre[i] = ApplyLog(rows[i], log);
        }

        var offsets = new double[d];
        var scales = new double[d];
        for (var j = 0; j < d; j++)
        {
            double offset, scale;
            if (kind == NormalizationKind.MinMax)
            {
                double min = double.PositiveInfinity, max = double.NegativeInfinity;
                foreach (var r in pre)
                {
                    min = Math.Min(min, r[j]);
                    max = Math.Max(max, r[j]);
                }

                offset = min;
                scale = max - min;
            }
            else if (kind == NormalizationKind.ZScore)
            {
                double mean = 0;
                foreach (var r in pre)
                {
                    mean += r[j];
                }

                mean /= pre.Length;
                double ss = 0;
                foreach (var r in pre)
                {
                    ss += (r[j] - mean) * (r[j] - mean);
                }

                offset = mean;
                scale = Math.Sqrt(ss / pre.Length);
            }
            else
            {
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
            }

            offsets[j] = offset;
            scales[j] = scale > 0 && double.IsFinite(scale) ? scale : 1.0;
        }

        return new Normalizer { Kind = kind, Log1pColumns = log, Offsets = offsets, Scales = scales };
    }

    public double[] Transform(double[] row)
    {
        ArgumentNullException.ThrowIfNull(row);
        CheckWidth(row.Length);
        var x = ApplyLog(row, Log1pColumns);
        for (var j = 0; j < x.Length; j++)
        {
            x[j] = (x[j] - Offsets[j]) / Scales[j];
        }

        return x;
    }

    public double[][] Transform(double[][] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var result = new double[rows.Length][];
        for (var i = 0; i < rows.Length; i++)
        {
            result[i] = Transform(rows[i]);
        }

        return result;
    }

    /// <summary>Maps a normalised row (e.g. a centroid) back to original units: unscale, then expm1 on log1p columns.</summary>
    public double[] Inverse(double[] normalisedRow)
    {
        ArgumentNullException.ThrowIfNull(normalisedRow);
        CheckWidth(normalisedRow.Length);
        var x = new double[normalisedRow.Length];
        for (var j = 0; j < x.Length; j++)
        {
            var v = normalisedRow[j] * Scales[j] + Offsets[j];
            x[j] = Log1pColumns[j] ? double.ExpM1(v) : v;
        }

        return x;
    }

    private void CheckWidth(int width)
    {
        if (width != Offsets.Length || width != Scales.Length || width != Log1pColumns.Length)
        {
            throw new ArgumentException($"Expected {Offsets.Length} columns, got {width}.");
        }
    }

    private static double[] ApplyLog(double[] row, bool[] log)
    {
        var x = (double[])row.Clone();
        for (var j = 0; j < x.Length; j++)
        {
            if (log[j])
            {
                if (x[j] < 0 || double.IsNaN(x[j]))
                {
                    throw new ArgumentException($"Column {j} is log1p-transformed and must be non-negative, got {x[j]}.");
                }

                x[j] = double.LogP1(x[j]);
            }
        }

        return x;
    }
}
