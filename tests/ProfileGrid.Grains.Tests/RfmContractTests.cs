using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Grains.Segments;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Tests;

/// <summary>The RFM edges cross grains with the model and are stored with it; models stored before RFM still load.</summary>
public class RfmContractTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static SegmentModel TrainedModel()
    {
        var random = new Random(4);
        var rows = Enumerable.Range(0, 200).Select(i =>
        {
            var orders = i % 5 == 0 ? 0 : 1 + random.Next(12);
            return new[] { random.NextDouble() * 300, orders, orders * (20 + random.NextDouble() * 80), random.NextDouble() };
        }).ToArray();
        var data = new TrainingSet(["recency_days", "frequency", "monetary", "noise"], [false, true, true, false], rows, rows.Length);
        return SegmentationTrainer.Train(data, new SegmentationSettings { K = 3, StabilityRuns = 0, MapPoints = 20 }, null, 2, Now);
    }

    private static IEnumerable<double[]> Vectors()
    {
        var random = new Random(9);
        for (var i = 0; i < 1_000; i++)
        {
            yield return [random.NextDouble() * 400, random.Next(0, 20), random.NextDouble() * 2_000, random.NextDouble()];
        }
    }

    [Fact]
    public void A_shard_scores_every_user_as_the_trained_model_does()
    {
        var model = TrainedModel();

        var assigning = model.ToView().ToAssignmentModel();

        Assert.NotNull(model.Rfm);
        Assert.All(Vectors(), v => Assert.Equal(model.Rfm!.ScoreVector(v), assigning.Rfm!.ScoreVector(v)));
        Assert.Equal(model.Rfm!.FittedOn, model.ToView().Rfm!.FittedOn);
    }

    [Fact]
    public void The_stored_model_keeps_its_rfm_edges_through_the_grains_serializer()
    {
        var model = TrainedModel();
        using var services = new ServiceCollection()
            .AddSerializer(builder => builder.AddAssembly(typeof(SegmentationGrainState).Assembly))
            .AddSegmentationSerializer()
            .BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();

        var stored = serializer.Deserialize<SegmentationGrainState>(serializer.SerializeToArray(new SegmentationGrainState { Model = model }));

        var rfm = Assert.IsType<RfmModel>(stored!.Model!.Rfm);
        Assert.Equal(model.Rfm!.RecencyEdges, rfm.RecencyEdges);
        Assert.Equal(model.Rfm.FrequencyEdges, rfm.FrequencyEdges);
        Assert.Equal(model.Rfm.MonetaryEdges, rfm.MonetaryEdges);
        Assert.All(Vectors(), v => Assert.Equal(model.Rfm.ScoreVector(v), rfm.ScoreVector(v)));
    }

    [Fact]
    public void A_model_stored_before_rfm_loads_and_scores_nobody()
    {
        // What an earlier release wrote: the same model JSON without the Rfm property.
        var json = JsonSerializer.SerializeToNode(TrainedModel(), SegmentationSerialization.JsonOptions)!.AsObject();
        Assert.True(json.Remove("Rfm"));

        var older = JsonSerializer.Deserialize<SegmentModel>(json.ToJsonString(), SegmentationSerialization.JsonOptions)!;

        Assert.Null(older.Rfm);
        var view = older.ToView();
        Assert.Null(view.Rfm);
        Assert.Null(view.ToAssignmentModel().Rfm);
        Assert.Equal(3, view.ToAssignmentModel().Segments.Length);
    }
}
