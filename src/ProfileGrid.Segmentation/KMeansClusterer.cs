using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ProfileGrid.Segmentation;

/// <summary>
/// k-means as scikit-learn's <c>KMeans(init="k-means++", algorithm="lloyd")</c> computes it, with Hamerly's bounds so
/// that most distance computations are skipped: greedy k-means++ seeding (2 + floor(ln k) candidates per centre),
/// <see cref="Initializations"/> restarts keeping the lowest inertia, Lloyd iterations until the labels stop changing
/// or the centres move less than <see cref="Tolerance"/> times the mean variance of the data (squared, summed), at
/// most <see cref="MaxIterations"/>. The random numbers are numpy's for <c>random_state = seed</c>, so a fit starts
/// from the same seeds as scikit-learn's with the same n_init and seed. Deterministic for a seed; one thread.
/// The labels are 0..k-1; the centroids are the means of their members in double precision (an empty cluster keeps its
/// last centre), and the inertia is recomputed in double from the points as given.
/// </summary>
/// <remarks>
/// We write our own rather than use ML.NET's trainer (<see cref="MlNetKMeansClusterer"/>, still selectable as
/// <c>kmeans-mlnet</c>): ML.NET's needed 1.6 to 2.7 times scikit-learn's fit time, and at a million users 1.8 times its
/// memory in a k sweep (docs/benchmarks.md, Segmentation), reading rows through an <c>IDataView</c> and scoring them
/// once more for the labels. Here the points are one
/// contiguous row-major float array, centred on their mean as scikit-learn does, distances are SIMD
/// (<see cref="Vector{T}"/>), and centroid sums are kept in double. The hot loops are marked AggressiveOptimization:
/// a k sweep's first fits would otherwise run much of their time in unoptimised tier-0 code.
/// </remarks>
public sealed class KMeansClusterer : IClusterer
{
    public string Name => "kmeans";

    /// <summary>Number of k-means++ initialisations (scikit-learn's <c>n_init</c>). Default 10.</summary>
    public int Initializations { get; init; } = 10;

    /// <summary>Maximum Lloyd iterations per initialisation (scikit-learn's <c>max_iter</c>). Default 300.</summary>
    public int MaxIterations { get; init; } = 300;

    /// <summary>
    /// Relative tolerance (scikit-learn's <c>tol</c>): a run stops when the squared centre movements of one
    /// iteration sum to at most this times the mean per-feature variance of the data. Default 1e-4; 0 iterates
    /// until no label changes (or <see cref="MaxIterations"/>).
    /// </summary>
    public double Tolerance { get; init; } = 1e-4;

    public ClusteringResult Fit(double[][] points, int k, int seed)
    {
        var d = ClusterMath.CheckFitInput(points, k);
        var n = points.Length;
        if (Initializations < 1)
        {
            throw new InvalidOperationException("Initializations must be >= 1.");
        }

        if (MaxIterations < 1)
        {
            throw new InvalidOperationException("MaxIterations must be >= 1.");
        }

        var (mean, meanVariance) = MeanAndMeanVariance(points);
        var matrix = new Matrix(Centred(points, mean), n, d);
        var random = new MersenneTwister(unchecked((uint)seed));
        var run = new Run(matrix, k);
        var bestLabels = new int[n];
        var bestCentres = new float[k * d];
        var bestInertia = double.PositiveInfinity;
        for (var r = 0; r < Initializations; r++)
        {
            // The upper bounds serve as the seeding's scratch: the first assignment overwrites them.
            KMeansPlusPlus(matrix, k, random, run.Upper, run.Centres);
            var inertia = run.Iterate(MaxIterations, Tolerance * meanVariance);
            if (inertia < bestInertia)
            {
                bestInertia = inertia;
                (bestLabels, run.Labels) = (run.Labels, bestLabels);
                run.Centres.CopyTo(bestCentres, 0);
            }
        }

        var lastCentres = new double[k][];
        for (var c = 0; c < k; c++)
        {
            lastCentres[c] = new double[d];
            for (var j = 0; j < d; j++)
            {
                lastCentres[c][j] = bestCentres[c * d + j] + mean[j];
            }
        }

        return ClusterMath.Summarise(points, bestLabels, k, fallback: lastCentres);
    }

    /// <summary>Per-feature means, and the mean of the per-feature (population) variances, in double.</summary>
    private static (double[] Mean, double MeanVariance) MeanAndMeanVariance(double[][] points)
    {
        var d = points[0].Length;
        var mean = new double[d];
        foreach (var p in points)
        {
            for (var j = 0; j < d; j++)
            {
                mean[j] += p[j];
            }
        }

        for (var j = 0; j < d; j++)
        {
            mean[j] /= points.Length;
        }

        double variance = 0;
        foreach (var p in points)
        {
            for (var j = 0; j < d; j++)
            {
                var t = p[j] - mean[j];
                variance += t * t;
            }
        }

        return (mean, variance / points.Length / d);
    }

    // Centring first, as scikit-learn does, keeps float rounding small for data far from the origin.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float[] Centred(double[][] points, double[] mean)
    {
        var d = mean.Length;
        var data = GC.AllocateUninitializedArray<float>(points.Length * d);
        for (var i = 0; i < points.Length; i++)
        {
            var row = points[i];
            for (var j = 0; j < d; j++)
            {
                data[i * d + j] = (float)(row[j] - mean[j]);
            }
        }

        return data;
    }

    /// <summary>
    /// scikit-learn's greedy k-means++ (<c>sklearn.cluster._kmeans._kmeans_plusplus</c>): the first centre is a
    /// uniform draw; each next one is the best, by resulting potential, of 2 + floor(ln k) candidates drawn with
    /// probability proportional to the squared distance to the nearest centre so far. Uses <paramref name="closest"/>
    /// (n floats) as scratch and writes k rows into <paramref name="centres"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KMeansPlusPlus(Matrix matrix, int k, MersenneTwister random, float[] closest, float[] centres)
    {
        var (n, d) = (matrix.Rows, matrix.Dimensions);
        var trials = 2 + (int)Math.Log(k);
        var first = random.NextInt(n);
        matrix.Row(first).CopyTo(centres.AsSpan(0, d));
        double potential = 0;
        ref var firstCentre = ref centres[0];
        for (var i = 0; i < n; i++)
        {
            closest[i] = Distance.Squared(ref matrix.RowRef(i), ref firstCentre, d);
            potential += closest[i];
        }

        Span<double> targets = stackalloc double[trials];
        Span<int> order = stackalloc int[trials];
        Span<int> candidates = stackalloc int[trials];
        Span<double> potentials = stackalloc double[trials];
        for (var c = 1; c < k; c++)
        {
            for (var t = 0; t < trials; t++)
            {
                targets[t] = random.NextDouble() * potential;
                order[t] = t;
            }

            // numpy.searchsorted(cumsum(closest), targets): the first row whose running sum reaches each target.
            for (var a = 1; a < trials; a++)
            {
                for (var b = a; b > 0 && targets[order[b]] < targets[order[b - 1]]; b--)
                {
                    (order[b], order[b - 1]) = (order[b - 1], order[b]);
                }
            }

            double running = 0;
            var next = 0;
            for (var i = 0; i < n && next < trials; i++)
            {
                running += closest[i];
                while (next < trials && targets[order[next]] <= running)
                {
                    candidates[order[next++]] = i;
                }
            }

            while (next < trials)
            {
                candidates[order[next++]] = n - 1;
            }

            potentials.Clear();
            for (var i = 0; i < n; i++)
            {
                ref var row = ref matrix.RowRef(i);
                var current = closest[i];
                for (var t = 0; t < trials; t++)
                {
                    potentials[t] += Math.Min(current, Distance.Squared(ref row, ref matrix.RowRef(candidates[t]), d));
                }
            }

            var best = 0;
            for (var t = 1; t < trials; t++)
            {
                if (potentials[t] < potentials[best])
                {
                    best = t;
                }
            }

            potential = potentials[best];
            matrix.Row(candidates[best]).CopyTo(centres.AsSpan(c * d, d));
            ref var centre = ref centres[c * d];
            for (var i = 0; i < n; i++)
            {
                closest[i] = Math.Min(closest[i], Distance.Squared(ref matrix.RowRef(i), ref centre, d));
            }
        }
    }

    /// <summary>n rows of d floats, row after row.</summary>
    private readonly struct Matrix(float[] data, int rows, int dimensions)
    {
        public int Rows { get; } = rows;

        public int Dimensions { get; } = dimensions;

        public ReadOnlySpan<float> Row(int i) => data.AsSpan(i * Dimensions, Dimensions);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ref float RowRef(int i) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(data), i * Dimensions);
    }

    /// <summary>
    /// One k-means run from given centres, with Hamerly's bounds (G. Hamerly, "Making k-means even faster", SDM 2010):
    /// per point an upper bound on the distance to its own centre and a lower bound on the distance to any other;
    /// a point is only rescanned when the upper bound exceeds both the lower bound and half the distance from its
    /// centre to the nearest other centre. Iterations are Lloyd's exactly: the same labels and centres, fewer
    /// distances. The buffers are reused across initialisations.
    /// </summary>
    private sealed class Run(Matrix matrix, int k)
    {
        private readonly int _n = matrix.Rows;
        private readonly int _d = matrix.Dimensions;
        private readonly double[] _sums = new double[k * matrix.Dimensions];
        private readonly int[] _counts = new int[k];
        private readonly float[] _halfGap = new float[k];
        private readonly float[] _moved = new float[k];
        private float _largestMove;
        private float _secondLargestMove;
        private int _mostMoved;

        public int[] Labels { get; set; } = new int[matrix.Rows];

        public float[] Centres { get; } = new float[k * matrix.Dimensions];

        public float[] Upper { get; } = new float[matrix.Rows];

        private float[] Lower { get; } = new float[matrix.Rows];

        /// <summary>Iterates from <see cref="Centres"/>; returns the inertia of the final labels and centres.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public double Iterate(int maxIterations, double tolerance)
        {
            AssignAll();
            var strict = false;
            for (var iteration = 0; iteration < maxIterations; iteration++)
            {
                var changed = iteration == 0 ? _n : Assign();
                changed += RelocateEmptyClusters();
                var movement = MoveCentres();
                if (changed == 0)
                {
                    strict = true; // the labels repeat, so the centres did not move
                    break;
                }

                if (movement <= tolerance)
                {
                    break;
                }
            }

            if (!strict)
            {
                Assign(); // labels for the final centres, as scikit-learn's last E-step
            }

            double inertia = 0;
            for (var i = 0; i < _n; i++)
            {
                inertia += Distance.Squared(ref matrix.RowRef(i), ref Centres[Labels[i] * _d], _d);
            }

            return inertia;
        }

        /// <summary>Every point against every centre: labels, bounds, sums and counts from scratch.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void AssignAll()
        {
            Array.Clear(_sums);
            Array.Clear(_counts);
            Array.Clear(_moved);
            (_largestMove, _secondLargestMove, _mostMoved) = (0, 0, 0);
            for (var i = 0; i < _n; i++)
            {
                ref var row = ref matrix.RowRef(i);
                var (best, nearest, second) = Nearest(ref row);
                Labels[i] = best;
                Upper[i] = MathF.Sqrt(nearest);
                Lower[i] = MathF.Sqrt(second);
                _counts[best]++;
                Add(ref row, best, 1);
            }
        }

        /// <summary>The bounded assignment step; returns how many labels changed.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private int Assign()
        {
            ComputeHalfGaps();
            var changed = 0;
            var labels = Labels;
            var upper = Upper;
            var lower = Lower;
            for (var i = 0; i < _n; i++)
            {
                var own = labels[i];
                var up = upper[i] + _moved[own];
                var low = lower[i] - (own == _mostMoved ? _secondLargestMove : _largestMove);
                var bound = MathF.Max(_halfGap[own], low);
                if (up > bound)
                {
                    ref var row = ref matrix.RowRef(i);
                    up = MathF.Sqrt(Distance.Squared(ref row, ref Centres[own * _d], _d));
                    if (up > bound)
                    {
                        var (best, nearest, second) = Nearest(ref row);
                        up = MathF.Sqrt(nearest);
                        low = MathF.Sqrt(second);
                        if (best != own)
                        {
                            labels[i] = best;
                            _counts[own]--;
                            _counts[best]++;
                            Add(ref row, own, -1);
                            Add(ref row, best, 1);
                            changed++;
                        }
                    }
                }

                upper[i] = up;
                lower[i] = low;
            }

            Array.Clear(_moved);
            (_largestMove, _secondLargestMove, _mostMoved) = (0, 0, 0);
            return changed;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private (int Best, float Nearest, float Second) Nearest(ref float row)
        {
            var best = 0;
            var nearest = float.PositiveInfinity;
            var second = float.PositiveInfinity;
            for (var c = 0; c < k; c++)
            {
                var distance = Distance.Squared(ref row, ref Centres[c * _d], _d);
                if (distance < nearest)
                {
                    second = nearest;
                    nearest = distance;
                    best = c;
                }
                else if (distance < second)
                {
                    second = distance;
                }
            }

            return (best, nearest, second);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Add(ref float row, int cluster, double sign)
        {
            var offset = cluster * _d;
            for (var j = 0; j < _d; j++)
            {
                _sums[offset + j] += sign * Unsafe.Add(ref row, j);
            }
        }

        private void ComputeHalfGaps()
        {
            for (var a = 0; a < k; a++)
            {
                var gap = float.PositiveInfinity;
                for (var b = 0; b < k; b++)
                {
                    if (a != b)
                    {
                        gap = MathF.Min(gap, Distance.Squared(ref Centres[a * _d], ref Centres[b * _d], _d));
                    }
                }

                _halfGap[a] = MathF.Sqrt(gap) / 2;
            }
        }

        /// <summary>
        /// Moves the points farthest from their centres into the clusters left empty, one each, as scikit-learn does
        /// (it moves only the centres and lets the next step relabel; here the labels follow at once, to keep the
        /// sums and bounds exact). Returns the number of points moved.
        /// </summary>
        private int RelocateEmptyClusters()
        {
            var empty = 0;
            for (var c = 0; c < k; c++)
            {
                if (_counts[c] == 0)
                {
                    empty++;
                }
            }

            if (empty == 0)
            {
                return 0;
            }

            var distances = new float[_n];
            for (var i = 0; i < _n; i++)
            {
                distances[i] = Distance.Squared(ref matrix.RowRef(i), ref Centres[Labels[i] * _d], _d);
            }

            var moved = 0;
            for (var c = 0; c < k; c++)
            {
                if (_counts[c] != 0)
                {
                    continue;
                }

                var farthest = -1;
                for (var i = 0; i < _n; i++)
                {
                    if (distances[i] > 0 && _counts[Labels[i]] > 1 && (farthest < 0 || distances[i] > distances[farthest]))
                    {
                        farthest = i;
                    }
                }

                if (farthest < 0)
                {
                    break; // every point sits on its centre (fewer distinct points than clusters): nothing to split off
                }

                ref var row = ref matrix.RowRef(farthest);
                var own = Labels[farthest];
                Add(ref row, own, -1);
                _counts[own]--;
                Add(ref row, c, 1);
                _counts[c] = 1;
                Labels[farthest] = c;
                Upper[farthest] = 0;
                Lower[farthest] = 0;
                distances[farthest] = -1;
                moved++;
            }

            return moved;
        }

        /// <summary>Centres to the means of their members; returns the sum of the squared movements.</summary>
        private double MoveCentres()
        {
            double total = 0;
            (_largestMove, _secondLargestMove, _mostMoved) = (0, 0, 0);
            for (var c = 0; c < k; c++)
            {
                double squared = 0;
                if (_counts[c] > 0)
                {
                    for (var j = 0; j < _d; j++)
                    {
                        var updated = (float)(_sums[c * _d + j] / _counts[c]);
                        var step = (double)updated - Centres[c * _d + j];
                        squared += step * step;
                        Centres[c * _d + j] = updated;
                    }
                }

                total += squared;
                var move = (float)Math.Sqrt(squared);
                _moved[c] = move;
                if (move > _largestMove)
                {
                    (_secondLargestMove, _largestMove, _mostMoved) = (_largestMove, move, c);
                }
                else if (move > _secondLargestMove)
                {
                    _secondLargestMove = move;
                }
            }

            return total;
        }
    }
}

/// <summary>Squared Euclidean distance between float rows, SIMD-wide where the hardware allows.</summary>
internal static class Distance
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Squared(ref float a, ref float b, int length)
    {
        var j = 0;
        var sum = 0f;
        if (Vector.IsHardwareAccelerated && length >= Vector<float>.Count)
        {
            var accumulator = Vector<float>.Zero;
            for (; j <= length - Vector<float>.Count; j += Vector<float>.Count)
            {
                var difference = Vector.LoadUnsafe(ref a, (nuint)j) - Vector.LoadUnsafe(ref b, (nuint)j);
                accumulator += difference * difference;
            }

            sum = Vector.Sum(accumulator);
        }

        for (; j < length; j++)
        {
            var difference = Unsafe.Add(ref a, j) - Unsafe.Add(ref b, j);
            sum += difference * difference;
        }

        return sum;
    }
}
