using System.Text.Json.Serialization;

namespace ProfileGrid.Experiments.Design;

/// <summary>Where an experiment is in its life: only a running one assigns users.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ExperimentStatus>))]
public enum ExperimentStatus
{
    Draft = 0,
    Running = 1,
    Stopped = 2,
    Archived = 3,
}

/// <summary>
/// An A/B test of recommender configurations on one slot (or every slot): its variants with weights (one is the
/// control), who may take part (targeting) and how much of the layer's traffic it takes. Wire names are snake_case
/// (docs/experiments.md).
/// </summary>
public sealed record Experiment
{
    /// <summary>1-64 characters of a-z, 0-9, '-' and '_'; chosen by the client.</summary>
    [JsonPropertyName("id")]
    public string Id { get; init; } = "";

    [JsonPropertyName("name")]
    public string? Name { get; init; }

    /// <summary>The slot whose lists it changes (home, product_page, ...); null for every slot.</summary>
    [JsonPropertyName("slot")]
    public string? Slot { get; init; }

    /// <summary>
    /// Experiments of one layer never share a user: each running one owns its own buckets of the layer. Defaults to the
    /// slot (or "all"), so two experiments on the same slot are exclusive unless put in different layers on purpose.
    /// </summary>
    [JsonPropertyName("layer")]
    public string? Layer { get; init; }

    [JsonPropertyName("variants")]
    public IReadOnlyList<Variant> Variants { get; init; } = [];

    [JsonPropertyName("targeting")]
    public Targeting? Targeting { get; init; }

    /// <summary>Share of the layer's users it takes when started, in (0, 1]; 1 by default.</summary>
    [JsonPropertyName("traffic")]
    public double Traffic { get; init; } = 1;

    [JsonPropertyName("status")]
    public ExperimentStatus Status { get; init; }

    /// <summary>A small number per tenant, given on create: it tags recommendation ids (rec-...-x{number}v{variant}).</summary>
    [JsonPropertyName("number")]
    public int Number { get; init; }

    /// <summary>The buckets of its layer it owns while running: [first, first + count) of <see cref="Assignment.Buckets"/>.</summary>
    [JsonPropertyName("bucket_first")]
    public int BucketFirst { get; init; }

    [JsonPropertyName("bucket_count")]
    public int BucketCount { get; init; }

    [JsonPropertyName("created_at")]
    public DateTimeOffset CreatedAt { get; init; }

    [JsonPropertyName("started_at")]
    public DateTimeOffset? StartedAt { get; init; }

    [JsonPropertyName("stopped_at")]
    public DateTimeOffset? StoppedAt { get; init; }

    /// <summary>The layer actually used: <see cref="Layer"/>, else the slot, else "all".</summary>
    [JsonIgnore]
    public string EffectiveLayer => Layer ?? Slot ?? AllSlots;

    public const string AllSlots = "all";
}

/// <summary>One arm of an experiment: a recommender configuration and its share of the experiment's users.</summary>
public sealed record Variant
{
    /// <summary>1-32 characters of a-z, 0-9, '-' and '_', unique in the experiment (control, hybrid, ...).</summary>
    [JsonPropertyName("key")]
    public string Key { get; init; } = "";

    /// <summary>Relative share (1-10,000): weights 1 and 1 split half and half, 1 and 3 a quarter and three quarters.</summary>
    [JsonPropertyName("weight")]
    public int Weight { get; init; } = 1;

    /// <summary>Exactly one variant is the control, the one the others are compared with.</summary>
    [JsonPropertyName("control")]
    public bool Control { get; init; }

    [JsonPropertyName("config")]
    public VariantConfig Config { get; init; } = new();
}

/// <summary>What a variant changes in how a list is made.</summary>
public sealed record VariantConfig
{
    /// <summary>"model" (the tenant's trained recommender, the default) or "popular" (the global popularity list).</summary>
    [JsonPropertyName("algorithm")]
    public string Algorithm { get; init; } = Algorithms.Model;

    /// <summary>Whether the tenant's segment rules apply (the serving filters always do).</summary>
    [JsonPropertyName("rules")]
    public bool Rules { get; init; } = true;

    /// <summary>Whether the learned re-ranker reorders the list (when one is published).</summary>
    [JsonPropertyName("reranker")]
    public bool Reranker { get; init; }
}

/// <summary>The algorithms a variant may name.</summary>
public static class Algorithms
{
    public const string Model = "model";
    public const string Popular = "popular";

    public static readonly IReadOnlyList<string> All = [Model, Popular];
}

/// <summary>Who may take part: every condition given must hold (segments: any of them; an attribute: any of its values).</summary>
public sealed record Targeting
{
    /// <summary>Segment labels or ids; empty for every segment (and users without one).</summary>
    [JsonPropertyName("segments")]
    public IReadOnlyList<string> Segments { get; init; } = [];

    /// <summary>Profile attributes and their allowed values: country, gender, age_band, language, channel, device.</summary>
    [JsonPropertyName("attributes")]
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Attributes { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}
