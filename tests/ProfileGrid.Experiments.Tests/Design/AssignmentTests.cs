using ProfileGrid.Experiments.Design;

namespace ProfileGrid.Experiments.Tests.Design;

/// <summary>Assignment: deterministic and sticky, weights respected, layers exclusive, targeting applied.</summary>
public class AssignmentTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    private static Experiment Draft(string id, string? slot = "home", double traffic = 1, Targeting? targeting = null, params (string Key, int Weight)[] variants) => new()
    {
        Id = id,
        Slot = slot,
        Traffic = traffic,
        Targeting = targeting,
        Variants = (variants.Length == 0 ? [("control", 1), ("hybrid", 1)] : variants)
            .Select((v, i) => new Variant { Key = v.Key, Weight = v.Weight, Control = i == 0 }).ToArray(),
    };

    private static ExperimentSet Running(params Experiment[] experiments)
    {
        var set = ExperimentSet.Empty;
        foreach (var experiment in experiments)
        {
            set = ExperimentEditor.Create(set, experiment, Now).Set!;
            var started = ExperimentEditor.Start(set, experiment.Id, Now);
            Assert.True(started.Set is not null, string.Join("; ", started.Problems));
            set = started.Set!;
        }

        return set;
    }

    [Fact]
    public void The_same_user_gets_the_same_variant_every_time_and_the_bucket_is_a_pinned_hash()
    {
        var set = Running(Draft("checkout-test"));

        var first = Assignment.Assign(set.Experiments, "shop", "alice", "home", UserFacts.None);
        var again = Assignment.Assign(set.Experiments, "shop", "alice", "home", UserFacts.None);

        Assert.NotNull(first);
        Assert.Equal(first.Variant.Key, again!.Variant.Key);
        Assert.Equal(first.Variant, set.Experiments[0].Variants[first.VariantIndex]);
        // Pinned: SHA-256 of "shop\nlayer:home\nalice", first 8 bytes big-endian, mod 10,000. A change here would move
        // every running experiment's users between variants after an upgrade.
        Assert.Equal(Assignment.Bucket("shop", "layer:home", "alice"), Assignment.Bucket("shop", "layer:home", "alice"));
        Assert.Equal(ExpectedBucket("shop\nlayer:home\nalice"), Assignment.Bucket("shop", "layer:home", "alice"));
    }

    private static int ExpectedBucket(string text)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text));
        ulong value = 0;
        for (var i = 0; i < 8; i++)
        {
            value = (value << 8) | hash[i];
        }

        return (int)(value % 10_000);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(5, 2)]
    public void Weights_are_respected_within_sampling_error(int controlWeight, int treatmentWeight)
    {
        var set = Running(Draft("weights", variants: [("control", controlWeight), ("treatment", treatmentWeight)]));
        const int users = 40_000;

        var treated = Enumerable.Range(0, users).Count(u => Assignment.Assign(set.Experiments, "shop", $"user-{u}", "home", UserFacts.None)!.Variant.Key == "treatment");

        var expected = (double)treatmentWeight / (controlWeight + treatmentWeight);
        var standardError = Math.Sqrt(expected * (1 - expected) / users);
        Assert.InRange((double)treated / users, expected - 4 * standardError, expected + 4 * standardError);
    }

    [Fact]
    public void Experiments_of_one_layer_never_share_a_user_and_traffic_shares_are_kept()
    {
        var set = Running(Draft("a", traffic: 0.3), Draft("b", traffic: 0.5));
        const int users = 20_000;

        var byExperiment = Enumerable.Range(0, users)
            .Select(u => Assignment.Assign(set.Experiments, "shop", $"u{u}", "home", UserFacts.None)?.Experiment.Id ?? "none")
            .GroupBy(id => id)
            .ToDictionary(g => g.Key, g => g.Count() / (double)users);

        Assert.InRange(byExperiment["a"], 0.28, 0.32);
        Assert.InRange(byExperiment["b"], 0.48, 0.52);
        Assert.InRange(byExperiment["none"], 0.18, 0.22);
        var a = set.Find("a")!;
        var b = set.Find("b")!;
        Assert.True(a.BucketFirst + a.BucketCount <= b.BucketFirst || b.BucketFirst + b.BucketCount <= a.BucketFirst);
    }

    [Fact]
    public void An_experiment_changes_only_its_slot_and_a_user_outside_its_targeting_sits_it_out()
    {
        var targeting = new Targeting
        {
            Segments = ["high-value"],
            Attributes = new Dictionary<string, IReadOnlyList<string>> { ["country"] = ["DE", "AT"] },
        };
        var set = Running(Draft("premium-first", targeting: targeting));
        var german = new UserFacts((3, "High-value"), new Dictionary<string, string> { ["country"] = "DE" });
        var french = german with { Attributes = new Dictionary<string, string> { ["country"] = "FR" } };
        var casual = german with { Segment = (1, "casual") };

        Assert.NotNull(Assignment.Assign(set.Experiments, "shop", "u1", "home", german));
        Assert.Null(Assignment.Assign(set.Experiments, "shop", "u1", "cart", german));
        Assert.Null(Assignment.Assign(set.Experiments, "shop", "u1", "home", french));
        Assert.Null(Assignment.Assign(set.Experiments, "shop", "u1", "home", casual));
        Assert.Null(Assignment.Assign(set.Experiments, "shop", "u1", "home", UserFacts.None));

        // A segment may be named by its id too.
        var byId = Running(Draft("by-id", targeting: new Targeting { Segments = ["3"] }));
        Assert.NotNull(Assignment.Assign(byId.Experiments, "shop", "u1", "home", casual with { Segment = (3, "renamed") }));
        Assert.Null(Assignment.Assign(byId.Experiments, "shop", "u1", "home", casual));
    }

    [Fact]
    public void A_stopped_experiment_assigns_nobody_and_frees_its_share_of_the_layer()
    {
        var set = Running(Draft("first", traffic: 0.8));
        var full = ExperimentEditor.Start(ExperimentEditor.Create(set, Draft("second", traffic: 0.5), Now).Set!, "second", Now);
        Assert.True(full.Conflict);
        Assert.Equal("traffic", Assert.Single(full.Problems).Field);

        set = ExperimentEditor.Stop(set, "first", Now).Set!;
        Assert.Null(Assignment.Assign(set.Experiments, "shop", "u1", "home", UserFacts.None));
        var second = ExperimentEditor.Start(ExperimentEditor.Create(set, Draft("second", traffic: 0.5), Now).Set!, "second", Now);
        Assert.NotNull(second.Set);
        Assert.Equal(2, second.Experiment!.Number);
    }
}
