namespace ProfileGrid.Abstractions.Recommendations;

/// <summary>A user's interactions with one item as counts (the profile's <c>ItemStats</c>), as they cross grains.</summary>
[GenerateSerializer, Immutable, Alias("pg.item-interaction")]
public sealed record ItemInteractionView(
    [property: Id(0)] string ItemId,
    [property: Id(1)] int Views,
    [property: Id(2)] int CartAdds,
    [property: Id(3)] int Purchases,
    [property: Id(4)] double? Rating,
    [property: Id(5)] DateTimeOffset LastAt);

/// <summary>
/// What events said of an item (category, unit price) and when: the catalog of items nobody upserted. Each field keeps
/// the event time it came from, so facts folded in any order give the same item.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.item-fact")]
public sealed record ItemFact(
    [property: Id(0)] string ItemId,
    [property: Id(1)] string? Category,
    [property: Id(2)] decimal? Price,
    [property: Id(3)] string? Currency,
    [property: Id(4)] DateTimeOffset SeenAt)
{
    /// <summary>When <see cref="Category"/> was said (defaults to <see cref="SeenAt"/>).</summary>
    [Id(5)] public DateTimeOffset? CategoryAt { get; init; }

    /// <summary>When <see cref="Price"/> and <see cref="Currency"/> were said (defaults to <see cref="SeenAt"/>).</summary>
    [Id(6)] public DateTimeOffset? PriceAt { get; init; }

    /// <summary>Two facts of one item folded: each field from the fact that said it last (a view without a price keeps the price a purchase gave).</summary>
    public static ItemFact Merge(ItemFact? known, ItemFact fact)
    {
        if (known is null)
        {
            return fact;
        }

        var categoryFrom = Later(known.Category is null ? null : known.CategoryAt ?? known.SeenAt, fact.Category is null ? null : fact.CategoryAt ?? fact.SeenAt) ? fact : known;
        var priceFrom = Later(known.Price is null ? null : known.PriceAt ?? known.SeenAt, fact.Price is null ? null : fact.PriceAt ?? fact.SeenAt) ? fact : known;
        return new ItemFact(
            fact.ItemId,
            categoryFrom.Category,
            priceFrom.Price,
            priceFrom.Currency,
            known.SeenAt > fact.SeenAt ? known.SeenAt : fact.SeenAt)
        {
            CategoryAt = categoryFrom.Category is null ? null : categoryFrom.CategoryAt ?? categoryFrom.SeenAt,
            PriceAt = priceFrom.Price is null ? null : priceFrom.PriceAt ?? priceFrom.SeenAt,
        };

        // True when b was said and is later than a (or a was not said); ties keep a, so the fold is deterministic.
        static bool Later(DateTimeOffset? a, DateTimeOffset? b) => b is not null && (a is null || b > a);
    }
}

/// <summary>
/// A profile's whole item history (it replaces what the shard held for the user, so a lost or repeated push is healed
/// by the next) and what the profile's latest events said of items.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.interaction-update")]
public sealed record InteractionUpdate(
    [property: Id(0)] string ProfileKey,
    [property: Id(1)] ItemInteractionView[] Items,
    [property: Id(2)] ItemFact[] Facts,
    [property: Id(3)] DateTimeOffset AsOf,
    [property: Id(4)] UserAttributesView? Attributes = null,
    [property: Id(5)] long ItemsForgotten = 0);

/// <summary>
/// The few demographics an offline evaluation (and a fairness audit) slices users by, sent with the item history so that
/// neither has to wake a profile: gender (wire name), year of birth (the age band is computed when it is used),
/// country (ISO 3166-1 alpha-2, from demographics, else the last seen).
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.user-attributes")]
public sealed record UserAttributesView(
    [property: Id(0)] string? Gender,
    [property: Id(1)] int? BirthYear,
    [property: Id(2)] string? Country);

/// <summary>A shard's users and their item histories, and the item facts it gathered: training input.</summary>
[GenerateSerializer, Immutable, Alias("pg.interaction-shard-data")]
public sealed record InteractionShardData(
    [property: Id(0)] string[] ProfileKeys,
    [property: Id(1)] ItemInteractionView[][] Items,
    [property: Id(2)] ItemFact[] Facts,
    [property: Id(3)] UserAttributesView?[]? Attributes = null,
    [property: Id(4)] long[]? ItemsForgotten = null);

/// <summary>What serving needs of a profile: its item history and whether it may be personalized.</summary>
/// <param name="Exists">False for a user the grid has never seen (cold start).</param>
/// <param name="PersonalizationOptIn">The user's consent flag; null when never set (personalized by default).</param>
[GenerateSerializer, Immutable, Alias("pg.recommendation-input")]
/// <param name="Ignored">Items shown to the user and not clicked since (see the profile's feedback layer); null when none.</param>
/// <param name="Targeting">What experiments' targeting looks at; only when asked for.</param>
/// <param name="ForgottenOwned">Hashes of items bought or rated that the profile's item bound forgot; null when none.</param>
public sealed record RecommendationInput(
    [property: Id(0)] bool Exists,
    [property: Id(1)] bool? PersonalizationOptIn,
    [property: Id(2)] ItemInteractionView[] Items,
    [property: Id(3)] ShownItem[]? Ignored = null,
    [property: Id(4)] UserTargeting? Targeting = null,
    [property: Id(5)] string? MergedInto = null,
    [property: Id(6)] uint[]? ForgottenOwned = null,
    [property: Id(7)] ExperimentVariant[]? ExposedVariants = null);

/// <summary>
/// The variant of an experiment (by number) whose lists the profile has met: a user keeps it, also once a login merged
/// the visitor who met it into a person whose own id hashes to another variant.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.experiment-variant")]
public readonly record struct ExperimentVariant([property: Id(0)] int Experiment, [property: Id(1)] int Variant)
{
    public static ExperimentVariant[]? Of(Profiles.FeedbackState feedback) =>
        feedback.Experiments.Count == 0 ? null : [.. feedback.Experiments.Select(pair => new ExperimentVariant(pair.Key, pair.Value.Variant))];
}

/// <summary>What the profile knows of a user that an experiment may target (null: not known).</summary>
[GenerateSerializer, Immutable, Alias("pg.user-targeting")]
public sealed record UserTargeting(
    [property: Id(0)] int? BirthYear,
    [property: Id(1)] Events.Gender? Gender,
    [property: Id(2)] string? Country,
    [property: Id(3)] string? Language,
    [property: Id(4)] Events.Channel? Channel,
    [property: Id(5)] Events.DeviceType? Device)
{
    public static UserTargeting Of(Profiles.UserProfile profile) => new(
        profile.Demographics.BirthYear,
        profile.Demographics.Gender == Events.Gender.Unknown ? null : profile.Demographics.Gender,
        profile.Demographics.Country ?? profile.Context.LastCountry,
        profile.Demographics.Language,
        profile.Context.LastChannel == Events.Channel.Unknown ? null : profile.Context.LastChannel,
        profile.Context.LastDevice == Events.DeviceType.Unknown ? null : profile.Context.LastDevice);
}

/// <summary>An item shown <paramref name="ShownSinceClick"/> times since the user last clicked it (or ever, if never).</summary>
[GenerateSerializer, Immutable, Alias("pg.shown-item")]
public readonly record struct ShownItem([property: Id(0)] string ItemId, [property: Id(1)] int ShownSinceClick);

/// <summary>An item of a tenant's catalog (upserted), as it crosses grains.</summary>
[GenerateSerializer, Immutable, Alias("pg.catalog-item")]
public sealed record CatalogItemView
{
    [Id(0)] public required string ItemId { get; init; }
    [Id(1)] public string? Category { get; init; }
    [Id(2)] public decimal? Price { get; init; }
    [Id(3)] public string? Currency { get; init; }
    [Id(4)] public bool Available { get; init; } = true;
    [Id(5)] public string[] Tags { get; init; } = [];
    [Id(6)] public Dictionary<string, string> Attributes { get; init; } = new(StringComparer.Ordinal);
    [Id(7)] public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>
    /// Deleted: kept as unavailable (a tombstone), so that an item events still name is not brought back by them; an
    /// upsert brings it back.
    /// </summary>
    [Id(8)] public bool Deleted { get; init; }
}

/// <summary>A catalog shard's items at a version (null items: unchanged since the version the caller holds).</summary>
[GenerateSerializer, Immutable, Alias("pg.catalog-snapshot")]
public sealed record CatalogShardSnapshot(
    [property: Id(0)] long Version,
    [property: Id(1)] CatalogItemView[]? Items);

/// <summary>A trained recommender model as bytes (the library's format), with its version; null bytes: unchanged.</summary>
[GenerateSerializer, Immutable, Alias("pg.recommender-model-bytes")]
public sealed record RecommenderModelBytes(
    [property: Id(0)] long Version,
    [property: Id(1)] byte[]? Bytes);

/// <summary>Keys and buckets of the recommender's grains.</summary>
public static class RecommendationKeys
{
    /// <summary>The catalog shard that owns <paramref name="itemId"/> among <paramref name="shards"/>.</summary>
    public static int CatalogShardOf(string itemId, int shards) => ProfileBuckets.Of(itemId, shards, BucketSpace.CatalogShard);

    /// <summary>The key of catalog shard <paramref name="shard"/> of <paramref name="tenant"/> (shaped like a profile key).</summary>
    public static string CatalogShard(string tenant, int shard) => Grains.SegmentKeys.Shard(tenant, shard);
}
