using ProfileGrid.Segmentation;

namespace ProfileGrid.Segmentation.Tests;

public class SegmentExplanationTests
{
    /// <summary>
    /// Two model features read from columns 2 and 0 of a three-column source vector, z-scored with offsets (10, 100)
    /// and scales (2, 50). The user (x 12, y 150) lands on (1, 1): squared distances 2 to 'near' at (0, 0), 13 to
    /// 'far' at (3, 4) and 26 to 'side' at (-4, 0).
    /// </summary>
    private static SegmentModel HandModel() => new()
    {
        Version = 4,
        Features = ["x", "y"],
        SourceColumns = [2, 0],
        Normalizer = new Normalizer { Kind = NormalizationKind.ZScore, Log1pColumns = [false, false], Offsets = [10, 100], Scales = [2, 50] },
        Segments =
        [
            new SegmentDefinition { Id = 9, Label = "side", Centroid = [-4, 0], CentroidInOriginalUnits = [2, 100] },
            new SegmentDefinition { Id = 3, Label = "near", Centroid = [0, 0], CentroidInOriginalUnits = [10, 100] },
            new SegmentDefinition { Id = 7, Label = "far", Centroid = [3, 4], CentroidInOriginalUnits = [16, 300] },
        ],
    };

    [Fact]
    public void A_hand_computed_user_is_explained_feature_by_feature()
    {
        var user = new[] { 150.0, -1.0, 12.0 };

        var explanation = SegmentExplanation.Explain(HandModel(), user);

        Assert.Equal(4, explanation.ModelVersion);
        Assert.Equal(new SegmentDistance(3, "near", Math.Sqrt(2)), explanation.Segment);
        Assert.Equal(new SegmentDistance(7, "far", Math.Sqrt(13)), explanation.NearestOther);
        Assert.Equal(Math.Sqrt(13) - Math.Sqrt(2), explanation.Margin, 12);
        Assert.Equal(
            [
                new FeatureContribution("x", 12, 10, 16, 1, 0, 3, 1, 4),
                new FeatureContribution("y", 150, 100, 300, 1, 0, 4, 1, 9),
            ],
            explanation.Features);

        // y adds 9 - 1 = 8 more to the distance to 'far' than to 'near', x adds 4 - 1 = 3.
        Assert.Equal(["y", "x"], explanation.Favouring);
        Assert.Equal(
            "In 'near' (distance 1.41) rather than 'far' (distance 3.61): y 150 vs 100 in 'near' and 300 in 'far'; x 12 vs 10 and 16.",
            explanation.Summary);
    }

    [Fact]
    public void The_summary_writes_units_and_names_the_feature_that_pulls_the_other_way()
    {
        // (2.5, -1): 'near' at squared distance 6.25 + 1, 'far' at 0.25 + 25; x pulls towards 'far'.
        var user = new[] { 50.0, 0, 15.0 };

        var explanation = SegmentExplanation.Explain(HandModel(), user, (feature, value) => feature == "y" ? $"{value:0} orders" : $"{value:0} days");

        Assert.Equal(3, explanation.Segment.SegmentId);
        Assert.Equal(["y"], explanation.Favouring);
        Assert.Equal(
            "In 'near' (distance 2.69) rather than 'far' (distance 5.02): y 50 orders vs 100 orders in 'near' and 300 orders in 'far'. "
            + "Nearer 'far' on x: 15 days vs 10 days and 16 days.",
            explanation.Summary);
    }

    [Fact]
    public void A_one_segment_model_has_no_nearest_other()
    {
        var model = HandModel();
        model = new SegmentModel
        {
            Version = model.Version,
            Features = model.Features,
            SourceColumns = model.SourceColumns,
            Normalizer = model.Normalizer,
            Segments = [model.Segments[2]],
        };

        var explanation = SegmentExplanation.Explain(model, [150.0, 0, 12.0]);

        Assert.Equal(7, explanation.Segment.SegmentId);
        Assert.Null(explanation.NearestOther);
        Assert.True(double.IsNaN(explanation.Margin));
        Assert.Empty(explanation.Favouring);
        Assert.StartsWith("In 'far' (distance 3.61), the model's only segment: y 150 vs 300; x 12 vs 16.", explanation.Summary);
    }

    [Fact]
    public void On_random_models_and_users_the_segment_is_the_assigned_one_and_the_nearest_other_the_true_second()
    {
        var random = new Random(20261202);
        for (var trial = 0; trial < 300; trial++)
        {
            var model = RandomModel(random);
            for (var u = 0; u < 20; u++)
            {
                var user = Enumerable.Range(0, 10).Select(_ => Math.Round(random.NextDouble() * 50, random.Next(3))).ToArray();

                var explanation = SegmentExplanation.Explain(model, user);

                Assert.Equal(model.Assign(user), explanation.Segment.SegmentId);

                // Brute force: every segment's distance, sorted, ties to the earlier segment as assignment breaks them.
                var normalised = model.Normalizer.Transform(model.SourceColumns.Select(c => user[c]).ToArray());
                var ranked = model.Segments
                    .Select((s, i) => (s, i, Distance: Math.Sqrt(s.Centroid.Zip(normalised, (c, x) => (c - x) * (c - x)).Sum())))
                    .OrderBy(p => p.Distance).ThenBy(p => p.i).ToArray();
                AssertClose(ranked[0].Distance, explanation.Segment.Distance);
                var other = Assert.IsType<SegmentDistance>(explanation.NearestOther);
                AssertClose(ranked[1].Distance, other.Distance);
                if (ranked[1].Distance - ranked[0].Distance > 1e-9 && (ranked.Length < 3 || ranked[2].Distance - ranked[1].Distance > 1e-9))
                {
                    Assert.Equal(ranked[1].s.Id, other.SegmentId);
                    Assert.Equal(ranked[1].s.Label, other.Label);
                }

                Assert.True(explanation.Margin >= 0, $"margin {explanation.Margin}");
                AssertClose(explanation.Segment.Distance * explanation.Segment.Distance, explanation.Features.Sum(f => f.Contribution));
                AssertClose(other.Distance * other.Distance, explanation.Features.Sum(f => f.NearestOtherContribution));
                Assert.Equal(model.Features, explanation.Features.Select(f => f.Feature));
                Assert.Equal(model.SourceColumns.Select(c => user[c]), explanation.Features.Select(f => f.Value));

                // The favouring features are the largest positive advantages, largest first.
                var expected = explanation.Features.Where(f => f.Advantage > 0).OrderByDescending(f => f.Advantage).Take(3).Select(f => f.Advantage);
                Assert.Equal(expected, explanation.Favouring.Select(name => explanation.Features.Single(f => f.Feature == name).Advantage));
                Assert.StartsWith($"In '{explanation.Segment.Label}' (distance ", explanation.Summary);
                Assert.DoesNotContain('\n', explanation.Summary);
            }
        }
    }

    [Fact]
    public void A_trained_model_with_log1p_columns_explains_its_own_training_rows_as_it_assigns_them()
    {
        var random = new Random(5);
        var rows = Enumerable.Range(0, 300).Select(i =>
        {
            var type = i % 3;
            return new[] { 2 + 30 * type + random.NextDouble() * 5, Math.Round(Math.Exp(type * 1.5 + random.NextDouble())), 100 * type + random.NextDouble() * 40 };
        }).ToArray();
        var model = SegmentationTrainer.Train(
            new TrainingSet(["recency_days", "frequency", "monetary"], [false, true, true], rows, rows.Length),
            new SegmentationSettings { K = 3, StabilityRuns = 0 },
            null,
            1,
            DateTimeOffset.UnixEpoch);

        foreach (var row in rows)
        {
            var explanation = SegmentExplanation.Explain(model, row);
            Assert.Equal(model.Assign(row), explanation.Segment.SegmentId);
            var frequency = explanation.Features.Single(f => f.Feature == "frequency");
            Assert.Equal(row[1], frequency.Value);
            Assert.Equal(model.Segment(explanation.Segment.SegmentId)!.CentroidInOriginalUnits[Array.IndexOf(model.Features, "frequency")], frequency.Centroid);
        }
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(-0.001, "0")]
    [InlineData(3.14159, "3.14")]
    [InlineData(14.04, "14")]
    [InlineData(14.25, "14.3")]
    [InlineData(2310.4, "2,310")]
    [InlineData(-1234567.0, "-1,234,567")]
    public void Numbers_read_as_a_person_writes_them(double value, string expected) =>
        Assert.Equal(expected, SegmentExplanation.FormatNumber(value));

    private static void AssertClose(double expected, double actual) =>
        Assert.Equal(expected, actual, 1e-9 * Math.Max(1, Math.Abs(expected)));

    /// <summary>Up to 8 segments over a random subset of 10 source columns, some log1p-transformed, some centroids coinciding.</summary>
    private static SegmentModel RandomModel(Random random)
    {
        var d = random.Next(1, 7);
        var columns = Enumerable.Range(0, 10).OrderBy(_ => random.Next()).Take(d).ToArray();
        var k = random.Next(2, 9);
        var centroids = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, d).Select(_ => Math.Round(random.NextDouble() * 6 - 3, 1)).ToArray()).ToArray();
        if (random.Next(4) == 0)
        {
            centroids[^1] = (double[])centroids[0].Clone();
        }

        return new SegmentModel
        {
            Version = random.Next(1, 100),
            Features = columns.Select(c => $"f{c}").ToArray(),
            SourceColumns = columns,
            Normalizer = new Normalizer
            {
                Kind = NormalizationKind.ZScore,
                Log1pColumns = Enumerable.Range(0, d).Select(_ => random.Next(2) == 0).ToArray(),
                Offsets = Enumerable.Range(0, d).Select(_ => random.NextDouble() * 10).ToArray(),
                Scales = Enumerable.Range(0, d).Select(_ => 0.1 + random.NextDouble() * 5).ToArray(),
            },
            Segments = centroids.Select((c, s) => new SegmentDefinition
            {
                Id = 10 + s * 3,
                Label = $"segment {s}",
                Centroid = c,
                CentroidInOriginalUnits = c.Select(v => v * 2).ToArray(),
            }).ToArray(),
        };
    }
}
