using ProfileGrid.Recommendations.Algorithms;
using static ProfileGrid.Recommendations.Tests.Algorithms.TestData;

namespace ProfileGrid.Recommendations.Tests.Algorithms;

public class ModelFormatTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static TheoryData<string> Algorithms => [.. RecommenderAlgorithms.All];

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Every_model_reads_back_and_answers_the_same(string algorithm)
    {
        var data = Random(300, 80, 6, seed: 1);
        var segments = data.Users.Select((_, u) => u % 3 == 0 ? "even" : null).ToArray();
        data = new InteractionMatrix(data.Users, segments, data.Items, data.RowStart, data.ItemIndices, data.Weights, data.AgeDays);
        var model = RecommenderTrainers.Create(algorithm, new RecommenderOptions { Ease = new EaseOptions { Lambda = 10 } }).Train(data, Now);

        var bytes = Bytes(model);
        var copy = ModelFormat.FromBytes(bytes);

        Assert.Equal(algorithm, copy.Algorithm);
        Assert.Equal(bytes, Bytes(copy));
        for (var u = 0; u < 40; u++)
        {
            var query = Query(10, segment: segments[u], exclude: [data.Items[u % data.ItemCount]],
                history: [.. data.ItemsOf(u).ToArray().Take(u % 5).Select(i => (data.Items[i], 1.0))]);
            Assert.Equal(model.Recommend(query), copy.Recommend(query));
        }
    }

    [Fact]
    public void Neighbour_model_of_20000_items_by_50_is_small()
    {
        // 20,000 × 50 neighbours: 4 bytes of index and 4 of similarity each, about 8 MB, plus the item ids.
        var n = 20_000;
        var start = Enumerable.Range(0, n + 1).Select(i => i * 50).ToArray();
        var neighbours = Enumerable.Range(0, n * 50).Select(p => (p / 50 + 1 + p % 50) % n).ToArray();
        var model = new ItemCfModel(Enumerable.Range(0, n).Select(i => $"item-{i:D6}").ToArray(), start, neighbours, new float[n * 50]);

        Assert.InRange(Bytes(model).Length, 8_000_000, 8_500_000);
    }

    [Fact]
    public void Foreign_future_and_truncated_bytes_are_refused_clearly()
    {
        var bytes = Bytes(new PopularityTrainer().Train(Unit("u1: A B"), Now));
        var future = (byte[])bytes.Clone();
        future[4] = 2;

        Assert.Contains("magic", Assert.Throws<InvalidDataException>(() => ModelFormat.FromBytes("nope, not a model"u8.ToArray())).Message);
        Assert.Contains("version 2", Assert.Throws<InvalidDataException>(() => ModelFormat.FromBytes(future)).Message);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => ModelFormat.FromBytes(bytes[..^3])).Message);
    }
}
