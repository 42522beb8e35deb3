using ProfileGrid.Experiments.Design;

namespace ProfileGrid.Experiments.Tests.Design;

/// <summary>Experiments' life (draft, running, stopped, archived) and their validation, each problem naming its field.</summary>
public class ExperimentEditorTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    private static Experiment Valid(string id = "home-hybrid", string? slot = "home", string? layer = null) => new()
    {
        Id = id,
        Slot = slot,
        Layer = layer,
        Variants =
        [
            new Variant { Key = "control", Control = true, Config = new VariantConfig { Algorithm = Algorithms.Popular, Rules = false } },
            new Variant { Key = "hybrid", Weight = 1 },
        ],
    };

    public static TheoryData<string, string, string> Invalid => new()
    {
        { "id", "id", "a-z, 0-9" },
        { "one variant", "variants", "2 to 20" },
        { "no control", "variants", "0 variants are marked control" },
        { "two controls", "variants", "2 variants are marked control" },
        { "same key twice", "variants[1].key", "names two variants" },
        { "weight 0", "variants[1].weight", "between 1 and 10000" },
        { "unknown algorithm", "variants[1].config.algorithm", "is not one of model, popular" },
        { "traffic 0", "traffic", "more than 0 and at most 1" },
        { "traffic 1.5", "traffic", "more than 0 and at most 1" },
        { "slot with spaces", "slot", "a-z, 0-9" },
        { "unknown attribute", "targeting.attributes.shoe_size", "is not one of country" },
        { "attribute without values", "targeting.attributes.country", "at least one value" },
        // probe67: values no profile holds ran an experiment that assigned nobody while holding its layer.
        { "country by name", "targeting.attributes.country.values[1]", "'germany' is no value a profile holds: expected an ISO 3166-1 alpha-2 country code (e.g. DE)" },
        { "country XX", "targeting.attributes.country.values[0]", "expected an ISO 3166-1 alpha-2" },
        { "gender robot", "targeting.attributes.gender.values[0]", "expected female, male or non_binary" },
        { "age band 90_99", "targeting.attributes.age_band.values[0]", "expected under_18, 18_24" },
        { "device toaster", "targeting.attributes.device.values[0]", "expected desktop, mobile, tablet, tv or other" },
        { "language german", "targeting.attributes.language.values[0]", "expected an ISO 639-1 language code" },
    };

    [Fact]
    public void Targeting_values_a_profile_holds_are_taken_in_any_case()
    {
        var targeted = Valid() with
        {
            Targeting = new Targeting
            {
                Attributes = new Dictionary<string, IReadOnlyList<string>>
                {
                    ["country"] = ["de", "AT"], ["gender"] = ["Female"], ["age_band"] = ["65_plus"], ["device"] = ["TV"], ["channel"] = ["app"], ["language"] = ["DE"],
                },
            },
        };

        var change = ExperimentEditor.Create(ExperimentSet.Empty, targeted, Now);
        Assert.Empty(change.Problems);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    // An outside probe (probe46): U+0000 in a name was stored as it came.
    [InlineData("name with NUL", "name", "holds a NUL character (U+0000) at position 4")]
    public void A_definition_that_cannot_run_is_refused_naming_the_field(string problem, string field, string reason)
    {
        var experiment = Valid();
        var variants = experiment.Variants.ToList();
        experiment = problem switch
        {
            "id" => experiment with { Id = "Home Hybrid" },
            "one variant" => experiment with { Variants = [variants[0]] },
            "no control" => experiment with { Variants = [variants[0] with { Control = false }, variants[1]] },
            "two controls" => experiment with { Variants = [variants[0], variants[1] with { Control = true }] },
            "same key twice" => experiment with { Variants = [variants[0], variants[1] with { Key = "control" }] },
            "weight 0" => experiment with { Variants = [variants[0], variants[1] with { Weight = 0 }] },
            "unknown algorithm" => experiment with { Variants = [variants[0], variants[1] with { Config = new VariantConfig { Algorithm = "magic" } }] },
            "traffic 0" => experiment with { Traffic = 0 },
            "traffic 1.5" => experiment with { Traffic = 1.5 },
            "slot with spaces" => experiment with { Slot = "home page" },
            "name with NUL" => experiment with { Name = "home\0page" },
            "unknown attribute" => experiment with { Targeting = new Targeting { Attributes = new Dictionary<string, IReadOnlyList<string>> { ["shoe_size"] = ["42"] } } },
            "attribute without values" => experiment with { Targeting = new Targeting { Attributes = new Dictionary<string, IReadOnlyList<string>> { ["country"] = [] } } },
            "country by name" => Targeted("country", "DE", "germany"),
            "country XX" => Targeted("country", "XX"),
            "gender robot" => Targeted("gender", "robot"),
            "age band 90_99" => Targeted("age_band", "90_99"),
            "device toaster" => Targeted("device", "toaster"),
            "language german" => Targeted("language", "german"),
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };

        var change = ExperimentEditor.Create(ExperimentSet.Empty, experiment, Now);

        Experiment Targeted(string attribute, params string[] values) =>
            experiment with { Targeting = new Targeting { Attributes = new Dictionary<string, IReadOnlyList<string>> { [attribute] = values } } };

        Assert.Null(change.Set);
        var found = Assert.Single(change.Problems, p => p.Field == field);
        Assert.Contains(reason, found.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_experiment_goes_from_draft_to_running_to_stopped_to_archived_and_only_a_draft_changes()
    {
        var set = ExperimentEditor.Create(ExperimentSet.Empty, Valid(), Now).Set!;
        Assert.Equal((ExperimentStatus.Draft, 1, 1L), (set.Experiments[0].Status, set.Experiments[0].Number, set.Version));
        Assert.True(ExperimentEditor.Create(set, Valid(), Now).Conflict);

        set = ExperimentEditor.Update(set, Valid() with { Name = "hybrid vs popularity" }, Now).Set!;
        set = ExperimentEditor.Start(set, "home-hybrid", Now.AddMinutes(1)).Set!;
        var running = set.Find("home-hybrid")!;
        Assert.Equal((ExperimentStatus.Running, Now.AddMinutes(1), 10_000), (running.Status, running.StartedAt, running.BucketCount));
        Assert.Equal("hybrid vs popularity", running.Name);

        var change = ExperimentEditor.Update(set, Valid() with { Traffic = 0.5 }, Now);
        Assert.True(change.Conflict);
        Assert.Contains("only a draft can change", change.Problems[0].Reason, StringComparison.Ordinal);
        Assert.True(ExperimentEditor.Archive(set, "home-hybrid", Now).Conflict);

        set = ExperimentEditor.Stop(set, "home-hybrid", Now.AddDays(14)).Set!;
        set = ExperimentEditor.Archive(set, "home-hybrid", Now.AddDays(15)).Set!;
        Assert.Equal(ExperimentStatus.Archived, set.Find("home-hybrid")!.Status);
        Assert.Equal(5L, set.Version);
        Assert.True(ExperimentEditor.Stop(set, "nobody", Now).NotFound);
    }

    [Fact]
    public void Two_experiments_on_the_same_slot_must_share_a_layer_so_that_no_user_is_in_both()
    {
        var set = ExperimentEditor.Create(ExperimentSet.Empty, Valid("everywhere", slot: null) with { Traffic = 0.5 }, Now).Set!;
        set = ExperimentEditor.Start(set, "everywhere", Now).Set!;
        set = ExperimentEditor.Create(set, Valid("home-only") with { Traffic = 0.5 }, Now).Set!;

        var refused = ExperimentEditor.Start(set, "home-only", Now);
        Assert.True(refused.Conflict);
        Assert.Equal("layer", refused.Problems[0].Field);
        Assert.Contains("layer 'all'", refused.Problems[0].Reason, StringComparison.Ordinal);

        set = ExperimentEditor.Update(set, Valid("home-only", layer: "all") with { Traffic = 0.5 }, Now).Set!;
        Assert.NotNull(ExperimentEditor.Start(set, "home-only", Now).Set);
    }
}
