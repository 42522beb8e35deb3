using ProfileGrid.Recommendations.Evaluation;

namespace ProfileGrid.Recommendations.Tests.Evaluation;

public sealed class SplitTests
{
    internal static readonly DateTimeOffset Now = new(2024, 6, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A matrix of (user, item, days ago) ratings of 4 stars; segments by user when given.</summary>
    internal static InteractionMatrix Matrix(IEnumerable<(string User, string Item, double DaysAgo)> pairs, Func<string, string?>? segment = null) =>
        InteractionMatrix.Build(
            pairs.GroupBy(p => p.User).Select(g => new UserInteractions(
                g.Key, g.Select(p => new ItemInteraction(p.Item, 0, 0, 0, 4, Now.AddDays(-p.DaysAgo))).ToList(), segment?.Invoke(g.Key))),
            new InteractionWeights(),
            Now);

    // u8 has 8 items, u4 4, u2 2, u1 1; each item's age is its number (i0 newest).
    private static InteractionMatrix Sample() => Matrix(
        new[] { ("u8", 8), ("u4", 4), ("u2", 2), ("u1", 1) }
            .SelectMany(u => Enumerable.Range(0, u.Item2).Select(i => (u.Item1, $"i{i}", (double)i + (u.Item1 == "u4" ? 0.5 : 0)))));

    [Fact]
    public void Random_split_holds_out_a_quarter_of_each_user_and_keeps_users_with_one_item_in_training()
    {
        var split = DataSplitter.Split(Sample(), new SplitOptions());

        // 8 -> 6 + 2, 4 -> 3 + 1, 2 -> 1 + 1 (round(1.5) = 2 is clamped to keep one for the test), 1 -> train only
        Assert.Equal(2, split.Test["u8"].Count);
        Assert.Single(split.Test["u4"]);
        Assert.Single(split.Test["u2"]);
        Assert.False(split.Test.ContainsKey("u1"));
        Assert.Equal(1, split.TrainOnlyUsers);
        Assert.Equal(4, split.HeldOutPairs);
        Assert.Equal(15 - 4, split.Train.NonZeros);
        Assert.Equal(["u2", "u4", "u8"], split.TestUsers);
    }

    [Fact]
    public void The_same_seed_gives_the_same_split_and_another_seed_another()
    {
        var data = Matrix(Enumerable.Range(0, 30).SelectMany(u => Enumerable.Range(0, 12).Select(i => ($"u{u}", $"i{(u * 7 + i * 3) % 40}", (double)i))));
        var first = DataSplitter.Split(data, new SplitOptions(Seed: 7));
        var again = DataSplitter.Split(data, new SplitOptions(Seed: 7));
        var other = DataSplitter.Split(data, new SplitOptions(Seed: 8));

        Assert.All(first.TestUsers, u => Assert.True(first.Test[u].SetEquals(again.Test[u])));
        Assert.Equal(first.Train.ItemIndices, again.Train.ItemIndices);
        Assert.Contains(first.TestUsers, u => !first.Test[u].SetEquals(other.Test[u]));
    }

    [Fact]
    public void A_user_s_split_does_not_move_when_other_users_are_added()
    {
        var small = Matrix(Enumerable.Range(0, 10).Select(i => ("alice", $"i{i}", (double)i)));
        var large = Matrix(Enumerable.Range(0, 10).Select(i => ("alice", $"i{i}", (double)i))
            .Concat(Enumerable.Range(0, 10).Select(i => ("bob", $"j{i}", (double)i))));

        Assert.True(DataSplitter.Split(small, new SplitOptions()).Test["alice"].SetEquals(DataSplitter.Split(large, new SplitOptions()).Test["alice"]));
    }

    [Theory]
    [InlineData(SplitMethod.Random)]
    [InlineData(SplitMethod.TimePerUser)]
    [InlineData(SplitMethod.TimeGlobal)]
    public void No_held_out_pair_is_in_training_and_together_they_are_the_whole_data(SplitMethod method)
    {
        var data = Sample();
        var split = DataSplitter.Split(data, new SplitOptions(method));
        var train = Pairs(split.Train);
        var test = split.Test.SelectMany(t => t.Value.Select(i => (t.Key, i))).ToHashSet();

        Assert.Empty(train.Intersect(test));
        Assert.True(Pairs(data).SetEquals(train.Union(test)));
        // Only items someone has in training are indexed, as InteractionMatrix promises.
        Assert.All(split.Train.Items, item => Assert.Contains(train, p => p.Item2 == item));
    }

    [Fact]
    public void The_per_user_time_split_holds_out_each_user_s_most_recent_items()
    {
        var split = DataSplitter.Split(Sample(), new SplitOptions(SplitMethod.TimePerUser));

        // i0 is the newest of every user
        Assert.True(split.Test["u8"].SetEquals(["i0", "i1"]));
        Assert.True(split.Test["u4"].SetEquals(["i0"]));
        Assert.True(split.Test["u2"].SetEquals(["i0"]));
    }

    [Fact]
    public void The_global_time_split_holds_out_everything_from_the_cutoff_on_whoever_it_belongs_to()
    {
        // Ages: u8 0..7, u4 0.5..3.5, u2 0..1, u1 0: 15 pairs; 0.75 * 15 = 11.25 -> the 12th oldest pair sets the cutoff.
        var split = DataSplitter.Split(Sample(), new SplitOptions(SplitMethod.TimeGlobal));

        // Oldest first: 7 6 5 4 3.5 3 2.5 2 1.5 1 1 | 0.5 0 0 0 -> cutoff 0.5 days: pairs of age <= 0.5 are held out.
        Assert.Equal(0.5, split.Cutoff!.Value, 6);
        Assert.Equal(4, split.HeldOutPairs);
        // u1's only item is after the cutoff: a test user with no history (cold start), absent from training.
        Assert.Contains("u1", split.TestUsers);
        Assert.DoesNotContain("u1", split.Train.Users);
        Assert.True(split.Test["u4"].SetEquals(["i0"]));
    }

    [Fact]
    public void Bad_options_are_refused_naming_the_field()
    {
        var error = Assert.Throws<ArgumentException>(() => DataSplitter.Split(Sample(), new SplitOptions(Ratio: 1)));
        Assert.Contains("ratio: must lie strictly between 0 and 1 (1)", error.Message);
    }

    private static HashSet<(string, string)> Pairs(InteractionMatrix matrix)
    {
        var pairs = new HashSet<(string, string)>();
        for (var u = 0; u < matrix.UserCount; u++)
        {
            foreach (var i in matrix.ItemsOf(u))
            {
                pairs.Add((matrix.Users[u], matrix.Items[i]));
            }
        }

        return pairs;
    }
}
