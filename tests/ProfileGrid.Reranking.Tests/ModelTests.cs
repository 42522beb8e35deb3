using Microsoft.ML;
using Microsoft.ML.Data;

namespace ProfileGrid.Reranking.Tests;

[Collection(PlantedModelCollection.Name)]
public sealed class ModelTests(PlantedModelFixture planted)
{
    private RerankerModel Model => planted.Result.Model;

    private RerankFeatures[] Candidates(int count) => planted.Examples.Take(count).Select(e => e.Features).ToArray();

    [Fact]
    public void A_model_round_trips_through_bytes_and_scores_identically()
    {
        var bytes = Model.ToBytes();
        var loaded = RerankerModel.FromBytes(bytes);
        var candidates = Candidates(5000);

        Assert.Equal(Model.Score(candidates), loaded.Score(candidates));
        Assert.Equal(Model.TreeCount, loaded.TreeCount);
        Assert.Equal(Model.Objective, loaded.Objective);
        Assert.Equal(bytes, loaded.ToBytes());
        Assert.Equal(Model.Fingerprint, loaded.Fingerprint);
    }

    [Theory]
    [InlineData(RerankObjective.Binary)]
    [InlineData(RerankObjective.LambdaRank)]
    public void Walking_the_extracted_trees_gives_ml_nets_own_scores(RerankObjective objective)
    {
        var model = objective == RerankObjective.Binary
            ? Model
            : RerankerTrainer.Train(planted.Examples, new RerankerTrainingOptions { Objective = objective, NumberOfTrees = 30 }).Model;
        var candidates = Candidates(3000);

        var context = new MLContext(seed: 1);
        using var stream = new MemoryStream(model.MlNetModel.ToArray());
        var transformer = context.Model.Load(stream, out var schema);
        var rows = candidates.Select(c => new InputRow { Features = c.Values.ToArray() });
        var definition = SchemaDefinition.Create(typeof(InputRow));
        definition[nameof(InputRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, RerankFeatures.Length);
        var scored = transformer.Transform(context.Data.LoadFromEnumerable(rows, definition));
        var mlNetScores = scored.GetColumn<float>("Score").ToArray();

        var ours = model.Score(candidates);
        for (var i = 0; i < candidates.Length; i++)
        {
            Assert.Equal(mlNetScores[i], (float)ours[i], 1e-4f);
        }
    }

    [Fact]
    public void Scoring_from_eight_threads_at_once_gives_the_serial_results()
    {
        var lists = planted.Examples.Chunk(SyntheticImpressions.ListLength).Take(400).Select(c => c.Select(e => e.Features).ToArray()).ToArray();
        var serial = lists.Select(l => Model.Rerank(l)).ToArray();

        var concurrent = new int[lists.Length][];
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (var round = 0; round < 5; round++)
            {
                for (var i = t; i < lists.Length; i += 8)
                {
                    var order = Model.Rerank(lists[i]);
                    if (round == 0)
                    {
                        concurrent[i] = order;
                    }
                    else if (!order.SequenceEqual(concurrent[i]))
                    {
                        concurrent[i] = [];
                    }
                }
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        Assert.Equal(serial, concurrent);
    }

    [Fact]
    public void Candidates_with_equal_scores_keep_their_base_order()
    {
        var same = Enumerable.Repeat(planted.Examples[0].Features, 12).ToArray();

        Assert.Equal(Enumerable.Range(0, 12), Model.Rerank(same));
    }

    [Fact]
    public void Rerank_puts_the_best_scored_candidate_first_and_returns_every_candidate_once()
    {
        var features = Candidates(SyntheticImpressions.ListLength);
        var scores = Model.Score(features);
        var order = Model.Rerank(features);

        Assert.Equal(Enumerable.Range(0, features.Length), order.Order());
        Assert.Equal(scores.Max(), scores[order[0]]);
        Assert.True(order.Zip(order.Skip(1)).All(p => scores[p.First] >= scores[p.Second]));
    }

    [Fact]
    public void Bytes_that_are_not_a_model_are_refused_with_a_clear_message()
    {
        var error = Assert.Throws<ArgumentException>(() => RerankerModel.FromBytes(new byte[40]));
        Assert.Equal("bytes", error.ParamName);
        Assert.Contains("PGRR", error.Message);

        var otherLayout = Model.ToBytes();
        otherLayout[8] ^= 0xFF;
        var layoutError = Assert.Throws<ArgumentException>(() => RerankerModel.FromBytes(otherLayout));
        Assert.Contains("feature layout", layoutError.Message);
    }

    private sealed class InputRow
    {
        public bool Clicked { get; set; }

        public float Relevance { get; set; }

        public uint GroupId { get; set; }

        public float[] Features { get; set; } = [];
    }
}
