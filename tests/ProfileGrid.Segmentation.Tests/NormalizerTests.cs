using FsCheck;
using FsCheck.Xunit;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Segmentation.Tests;

public class NormalizerTests
{
    private static readonly double[][] Rows =
    [
        [1.0, 10.0],
        [2.0, 20.0],
        [3.0, 60.0],
    ];

    private static void AssertRow(double[] expected, double[] actual, int precision = 9)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var j = 0; j < expected.Length; j++)
        {
            Assert.Equal(expected[j], actual[j], precision);
        }
    }

    [Fact]
    public void MinMax_on_3x2_example_maps_min_to_0_and_max_to_1()
    {
        // col0: min 1, range 2 -> (1,2,3) -> (0, .5, 1); col1: min 10, range 50 -> (10,20,60) -> (0, .2, 1).
        var n = Normalizer.Fit(Rows, NormalizationKind.MinMax, [false, false]);

        AssertRow([1.0, 10.0], n.Offsets);
        AssertRow([2.0, 50.0], n.Scales);
        var t = n.Transform(Rows);
        AssertRow([0.0, 0.0], t[0]);
        AssertRow([0.5, 0.2], t[1]);
        AssertRow([1.0, 1.0], t[2]);
    }

    [Fact]
    public void ZScore_on_3x2_example_uses_population_stddev()
    {
        // col0: mean 2, deviations (-1,0,1), var = 2/3, sd = sqrt(2/3) = 0.816497 -> (-1.224745, 0, 1.224745).
        // col1: mean 30, deviations (-20,-10,30), var = (400+100+900)/3 = 1400/3, sd = 21.602469
        //       -> (-0.925820, -0.462910, 1.388730). (Sample sd would give -1, 0, 1 on col0: it must not.)
        var n = Normalizer.Fit(Rows, NormalizationKind.ZScore, [false, false]);

        AssertRow([2.0, 30.0], n.Offsets);
        AssertRow([Math.Sqrt(2.0 / 3.0), Math.Sqrt(1400.0 / 3.0)], n.Scales);
        var t = n.Transform(Rows);
        AssertRow([-1.224745, -0.925820], t[0], 6);
        AssertRow([0.0, -0.462910], t[1], 6);
        AssertRow([1.224745, 1.388730], t[2], 6);

        // Each column has mean 0 and population variance 1 after the transform.
        for (var j = 0; j < 2; j++)
        {
            var mean = t.Average(r => r[j]);
            Assert.Equal(0.0, mean, 12);
            Assert.Equal(1.0, t.Average(r => (r[j] - mean) * (r[j] - mean)), 12);
        }
    }

    [Fact]
    public void Log1p_column_spreads_a_heavy_tailed_spend_column_evenly()
    {
        // Spend 0, 9, 99, 999: log1p = 0, ln 10, ln 100, ln 1000 = 0, 2.303, 4.605, 6.908 -> min-max 0, 1/3, 2/3, 1.
        // Without log1p the big spender squeezes everyone else into [0, 0.1]: 0, 0.009, 0.099, 1.
        double[][] rows = [[0.0, 1.0], [9.0, 2.0], [99.0, 3.0], [999.0, 4.0]];

        var withLog = Normalizer.Fit(rows, NormalizationKind.MinMax, [true, false]);
        var withoutLog = Normalizer.Fit(rows, NormalizationKind.MinMax, [false, false]);

        var t = withLog.Transform(rows);
        AssertRow([0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0], t.Select(r => r[0]).ToArray());
        AssertRow([0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0], t.Select(r => r[1]).ToArray()); // unflagged column untouched by log
        AssertRow([0.0, 9.0 / 999.0, 99.0 / 999.0, 1.0], withoutLog.Transform(rows).Select(r => r[0]).ToArray());
        Assert.Equal(Math.Log(1000.0), withLog.Scales[0], 12);

        // Inverse applies expm1: a centroid at the middle of the log scale is the geometric-style midpoint, 1+x = sqrt(1000).
        Assert.Equal(Math.Sqrt(1000.0) - 1.0, withLog.Inverse([0.5, 0.5])[0], 9);
        Assert.Equal(99.0, withLog.Inverse(t[2])[0], 9);
    }

    [Fact]
    public void Log1p_column_rejects_negative_values()
    {
        Assert.Throws<ArgumentException>(() => Normalizer.Fit([[-1.0], [2.0]], NormalizationKind.MinMax, [true]));
    }

    [Theory]
    [InlineData(NormalizationKind.MinMax)]
    [InlineData(NormalizationKind.ZScore)]
    public void Constant_column_gets_scale_1_and_maps_to_0(NormalizationKind kind)
    {
        double[][] rows = [[5.0, 1.0], [5.0, 2.0], [5.0, 4.0]];

        var n = Normalizer.Fit(rows, kind, [false, false]);

        Assert.Equal(1.0, n.Scales[0]);
        Assert.Equal(5.0, n.Offsets[0]);
        Assert.All(n.Transform(rows), r => Assert.Equal(0.0, r[0]));
        Assert.Equal(5.0, n.Inverse([0.0, 0.0])[0]);
        Assert.All(n.Transform(rows), r => Assert.True(double.IsFinite(r[1])));
    }

    [Fact]
    public void Properties_round_trip_into_an_equivalent_normaliser()
    {
        var fitted = Normalizer.Fit(Rows, NormalizationKind.ZScore, [true, false]);
        var restored = new Normalizer
        {
            Kind = fitted.Kind,
            Log1pColumns = fitted.Log1pColumns.ToArray(),
            Offsets = fitted.Offsets.ToArray(),
            Scales = fitted.Scales.ToArray(),
        };

        AssertRow(fitted.Transform([7.0, 13.0]), restored.Transform([7.0, 13.0]), 15);
        Assert.Equal(NormalizationKind.ZScore, restored.Kind);
    }

    [Fact]
    public void Transform_rejects_rows_of_the_wrong_width()
    {
        var n = Normalizer.Fit(Rows, NormalizationKind.MinMax, [false, false]);
        Assert.Throws<ArgumentException>(() => n.Transform([1.0]));
    }

    [Property(MaxTest = 200)]
    public bool Inverse_of_Transform_is_identity(int[] values, bool zScore)
    {
        // Three columns per row; column 0 is log1p-flagged and made non-negative.
        var rowCount = values.Length / 3;
        if (rowCount == 0)
        {
            return true;
        }

        var rows = new double[rowCount][];
        for (var i = 0; i < rowCount; i++)
        {
            rows[i] =
            [
                Math.Abs((long)values[3 * i]) / 7.0,
                values[3 * i + 1] / 3.0,
                values[3 * i + 2] * 1.5,
            ];
        }

        var n = Normalizer.Fit(rows, zScore ? NormalizationKind.ZScore : NormalizationKind.MinMax, [true, false, false]);
        foreach (var row in rows)
        {
            var back = n.Inverse(n.Transform(row));
            for (var j = 0; j < row.Length; j++)
            {
                if (Math.Abs(back[j] - row[j]) > 1e-9 * (1.0 + Math.Abs(row[j])))
                {
                    return false;
                }
            }
        }

        return true;
    }
}
