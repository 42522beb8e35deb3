using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Grains.Segments;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Tests;

public class SegmentContractMappingTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static SegmentModel TrainedModel(NormalizationKind normalization)
    {
        var random = new Random(3);
        var rows = Enumerable.Range(0, 300)
            .Select(i => new[] { (i % 3) * 50 + random.NextDouble() * 5, Math.Exp(i % 3) * 10 + random.NextDouble(), random.NextDouble() })
            .ToArray();
        var data = new TrainingSet(["recency_days", "monetary", "noise"], [false, true, false], rows, rows.Length);
        return SegmentationTrainer.Train(data, new SegmentationSettings { K = 3, StabilityRuns = 0, Normalization = normalization, MapPoints = 50 }, null, 4, Now);
    }

    [Theory]
    [InlineData(NormalizationKind.ZScore)]
    [InlineData(NormalizationKind.MinMax)]
    public void A_shard_assigns_every_user_as_the_trained_model_does(NormalizationKind normalization)
    {
        var model = TrainedModel(normalization);

        var assigning = model.ToView().ToAssignmentModel();

        var random = new Random(11);
        for (var i = 0; i < 2_000; i++)
        {
            var vector = new[] { random.NextDouble() * 200, random.NextDouble() * 300, random.NextDouble() };
            Assert.Equal(model.Assign(vector), assigning.Assign(vector));
        }
    }

    [Fact]
    public void A_shards_model_explains_every_user_as_the_trained_model_does()
    {
        var model = TrainedModel(NormalizationKind.ZScore);

        var assigning = model.ToView().ToAssignmentModel();

        var random = new Random(12);
        for (var i = 0; i < 500; i++)
        {
            var vector = new[] { random.NextDouble() * 200, random.NextDouble() * 300, random.NextDouble() };
            var expected = SegmentExplanation.Explain(model, vector);
            var actual = SegmentExplanation.Explain(assigning, vector);
            Assert.Equal(expected.Segment, actual.Segment);
            Assert.Equal(expected.NearestOther, actual.NearestOther);
            Assert.Equal(expected.Features, actual.Features);
            Assert.Equal(expected.Summary, actual.Summary);
            Assert.DoesNotContain("NaN", actual.Summary);
        }
    }

    [Fact]
    public void An_explanation_that_ageing_moved_away_from_the_listed_segment_says_so()
    {
        var model = TrainedModel(NormalizationKind.ZScore);
        var explanation = SegmentExplanation.Explain(model, [120, 50, 0.5]);
        var elsewhere = model.Segments.First(s => s.Id != explanation.Segment.SegmentId);

        var agreeing = explanation.ToView(Now, new(explanation.Segment.SegmentId, explanation.Segment.Label, model.Version, Now.AddDays(-1)));
        var moved = explanation.ToView(Now, new(elsewhere.Id, elsewhere.Label, model.Version, Now.AddDays(-1)));

        Assert.Equal(explanation.Summary, agreeing.Summary);
        Assert.Equal(
            explanation.Summary + $" Still listed in '{elsewhere.Label}' from before their features aged; they move at their next update or the next model.",
            moved.Summary);
        Assert.Equal(elsewhere.Id, moved.Listed!.SegmentId);
        Assert.Equal(explanation.Features.Select(f => f.Contribution), moved.Features.Select(f => f.Contribution));
        Assert.Equal(explanation.Favouring, moved.Favouring);
    }

    [Fact]
    public void The_view_carries_what_the_segment_api_shows()
    {
        var model = TrainedModel(NormalizationKind.ZScore);

        var view = model.ToView();

        Assert.Equal(model.Version, view.Version);
        Assert.Equal(model.K, view.K);
        Assert.Equal(model.Segments.Select(s => (s.Id, s.Label, s.TrainingSize)), view.Segments.Select(s => (s.Id, s.Label, s.TrainingSize)));
        Assert.Equal(model.Segments[0].DistinguishingFeatures.Select(d => d.Feature), view.Segments[0].DistinguishingFeatures.Select(d => d.Feature));
        Assert.Equal(model.Curve.Select(p => p.K), view.Curve.Select(p => p.K));
        Assert.Equal(model.Map.Points.Length, view.Map.Points.Length);
        Assert.Equal(model.KReason, view.KReason);
    }

    [Fact]
    public void Settings_survive_the_trip_through_the_contract()
    {
        var settings = new SegmentationSettings
        {
            Algorithm = "ward", K = 4, MinK = 3, MaxK = 9, Features = ["monetary", "frequency"], Normalization = NormalizationKind.MinMax,
            KMeansInitializations = 7, HierarchicalMaxPoints = 1234, SilhouetteSampleSize = 555, StabilityRuns = 2, StabilitySampleSize = 777,
            MapPoints = 12, Seed = 99,
        };

        var back = settings.ToRequest().ToSettings(new LabelRules());

        Assert.Equal(settings with { Features = [] }, back with { Features = [] });
        Assert.Equal(settings.Features, back.Features);
    }

    [Fact]
    public void An_unknown_normalization_is_refused_by_name()
    {
        var error = Assert.Throws<ArgumentException>(() => new SegmentationRequest { Normalization = "robust" }.ToSettings(new LabelRules()));

        Assert.Contains("'robust' is not zscore or minmax", error.Message);
    }
}
