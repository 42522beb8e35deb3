namespace ProfileGrid.Segmentation;

/// <summary>
/// Exact 2-D principal component analysis for plotting segments. The rows are centred, the d×d sample covariance
/// is formed and fully eigen-decomposed with the cyclic Jacobi method. This is used instead of ML.NET's
/// <c>ProjectToPrincipalComponents</c> because that transform is a randomised (approximate, seed-dependent)
/// algorithm and does not report explained variance; for the small dimensions used here (d ≲ 32) Jacobi is
/// exact, deterministic and cheap (O(d³) per sweep).
/// Component signs are fixed so that the largest-magnitude entry of each loading vector is positive.
/// </summary>
public sealed class PcaProjection
{
    private PcaProjection(double[] mean, double[][] components, double[] variance, double totalVariance)
    {
        Mean = mean;
        Components = components;
        ExplainedVariance = variance;
        ExplainedVarianceRatio = variance.Select(v => totalVariance > 0 ? v / totalVariance : 0).ToArray();
    }

    /// <summary>Column means subtracted before projecting.</summary>
    public double[] Mean { get; }

    /// <summary>The two loading vectors (unit length, length d each): Components[0] is the X axis, Components[1] the Y axis.</summary>
    public double[][] Components { get; }

    /// <summary>Variance (eigenvalue of the sample covariance, n−1 denominator) along each of the two components.</summary>
    public double[] ExplainedVariance { get; }

    /// <summary>Share of the total variance captured by each of the two components.</summary>
    public double[] ExplainedVarianceRatio { get; }

    public int Dimension => Mean.Length;

    /// <summary>Fits the projection on rows of equal length (at least one row).</summary>
    public static PcaProjection Fit(IReadOnlyList<double[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var n = rows.Count;
        if (n == 0)
        {
            throw new ArgumentException("No rows.", nameof(rows));
        }

        var d = rows[0].Length;
        if (d == 0)
        {
            throw new ArgumentException("Rows must have at least one column.", nameof(rows));
        }

        foreach (var r in rows)
        {
            if (r.Length != d)
            {
                throw new ArgumentException("All rows must have the same length.", nameof(rows));
            }
        }

        var mean = new double[d];
        foreach (var r in rows)
        {
            for (var j = 0; j < d; j++)
            {
                mean[j] += r[j];
            }
        }

        for (var j = 0; j < d; j++)
        {
            mean[j] /= n;
        }

        var cov = new double[d, d];
        foreach (var r in rows)
        {
            for (var a = 0; a < d; a++)
            {
                var ca = r[a] - mean[a];
                for (var b = a; b < d; b++)
                {
                    cov[a, b] += ca * (r[b] - mean[b]);
                }
            }
        }

        double denom = Math.Max(1, n - 1);
        for (var a = 0; a < d; a++)
        {
            for (var b = a; b < d; b++) { cov[a, b] /= denom; cov[b, a] = cov[a, b]; }
        }

        double total = 0;
        for (var a = 0; a < d; a++)
        {
            total += cov[a, a];
        }

        var (values, vectors) = Jacobi(cov, d);
        var order = Enumerable.Range(0, d).OrderByDescending(i => values[i]).ThenBy(i => i).ToArray();

        var components = new double[2][];
        var variance = new double[2];
        for (var c = 0; c < 2; c++)
        {
            components[c] = new double[d];
            if (c >= d)
            {
                continue; // d == 1: the Y axis is degenerate (all zeros, zero variance)
            }

            var col = order[c];
            for (var j = 0; j < d; j++)
            {
                components[c][j] = vectors[j, col];
            }

            var argMax = 0;
            for (var j = 1; j < d; j++)
            {
                if (Math.Abs(components[c][j]) > Math.Abs(components[c][argMax]) + 1e-12)
                {
                    argMax = j;
                }
            }

            if (components[c][argMax] < 0)
            {
                for (var j = 0; j < d; j++)
                {
                    components[c][j] = -components[c][j];
                }
            }

            variance[c] = Math.Max(0, values[col]);
        }
        return new PcaProjection(mean, components, variance, total);
    }

    /// <summary>Coordinates of a row on the first two principal axes.</summary>
    public (double X, double Y) Project(double[] row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (row.Length != Dimension)
        {
            throw new ArgumentException($"Expected {Dimension} values.", nameof(row));
        }

        double x = 0, y = 0;
        for (var j = 0; j < row.Length; j++)
        {
            var c = row[j] - Mean[j];
            x += c * Components[0][j];
            y += c * Components[1][j];
        }
        return (x, y);
    }

    /// <summary>Cyclic Jacobi eigen-decomposition of a symmetric matrix; eigenvectors are the columns of V.</summary>
    private static (double[] Values, double[,] Vectors) Jacobi(double[,] input, int d)
    {
        var a = (double[,])input.Clone();
        var v = new double[d, d];
        for (var i = 0; i < d; i++)
        {
            v[i, i] = 1;
        }

        for (var sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, diag = 0;
            for (var p = 0; p < d; p++)
            {
                diag += a[p, p] * a[p, p];
                for (var q = p + 1; q < d; q++)
                {
                    off += a[p, q] * a[p, q];
                }
            }
            if (off <= 1e-30 * Math.Max(diag, 1e-300))
            {
                break;
            }

            for (var p = 0; p < d; p++)
            {
                for (var q = p + 1; q < d; q++)
                {
                    var apq = a[p, q];
                    if (apq == 0)
                    {
                        continue;
                    }

                    var theta = (a[q, q] - a[p, p]) / (2 * apq);
                    var t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0)
                    {
                        t = 1;
                    }

                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (var k = 0; k < d; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (var k = 0; k < d; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                    for (var k = 0; k < d; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        var values = new double[d];
        for (var i = 0; i < d; i++)
        {
            values[i] = a[i, i];
        }

        return (values, v);
    }
}
