namespace ProfileGrid.Abstractions.Profiles;

/// <summary>
/// What a user was shown of recommendation lists and what came of it: the feedback layer, kept by impression and click
/// events and by the add to cart and purchase events attributed to a click. Bounded like every other layer.
/// </summary>
[GenerateSerializer, Alias("pg.feedback-state")]
public sealed class FeedbackState
{
    /// <summary>Distinct lists shown (impressions; the same recommendation id shown again counts once).</summary>
    [Id(0)] public long Impressions { get; set; }

    /// <summary>Items shown over all impressions.</summary>
    [Id(1)] public long ItemsShown { get; set; }

    /// <summary>Distinct clicks: an item clicked twice in the same list counts once.</summary>
    [Id(2)] public long Clicks { get; set; }

    /// <summary>Add to cart events attributed to a recommendation (last click on the item within the window).</summary>
    [Id(3)] public long AttributedCartAdds { get; set; }

    /// <summary>Purchase lines attributed to a recommendation.</summary>
    [Id(4)] public long AttributedPurchases { get; set; }

    /// <summary>Revenue of the attributed purchase lines, per ISO 4217 currency.</summary>
    [Id(5)] public Dictionary<string, decimal> AttributedRevenue { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The latest lists shown or clicked, oldest first; bounded.</summary>
    [Id(6)] public List<ShownList> RecentLists { get; set; } = [];

    /// <summary>Per item: how often it was shown, how often since it was last clicked, its last click; bounded.</summary>
    [Id(7)] public Dictionary<string, ItemExposure> Exposures { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Add to cart and purchase lines of items that had no click to credit when they were applied, kept for a while so
    /// that a click that arrives late (an app sending its queue after the web's purchase) still gets the credit.
    /// </summary>
    [Id(8)] public List<PendingConversion> Unattributed { get; set; } = [];

    /// <summary>
    /// Per experiment number (from the recommendation ids' tag), the user's variant and what the lists of that variant
    /// led to: the per-user figures an experiment's result aggregates. Bounded: the experiments exposed longest ago go
    /// first.
    /// </summary>
    [Id(9)] public Dictionary<int, ExperimentOutcome> Experiments { get; set; } = [];

    /// <summary>
    /// The event time of the earliest impression or click: the user's first exposure to a list. Null for a profile whose
    /// feedback predates it (the fairness audit then groups it as before).
    /// </summary>
    [Id(10)] public DateTimeOffset? FirstExposedAt { get; set; }

    /// <summary>
    /// The segment id the first exposure's list was served under (<c>ServedSegment</c>): -1 for a list served without a
    /// segment, null for a list the grid did not serve (a client's own ids).
    /// </summary>
    [Id(11)] public int? SegmentAtFirstExposure { get; set; }

    /// <summary>
    /// Clicks on lists whose impression has arrived: the click-through rate's numerator, so that a click whose list was
    /// never reported shown does not count against no impression (probe58: a rate of 2). Null in a state written before
    /// it was kept: <see cref="Clicks"/> stands in until the next feedback event counts it from there.
    /// </summary>
    [Id(12)] public long? ClicksOnShownLists { get; set; }
}

/// <summary>One user's outcome in one experiment: exposure, and the feedback and conversions of the variant's lists.</summary>
[GenerateSerializer, Alias("pg.experiment-outcome")]
public sealed class ExperimentOutcome
{
    /// <summary>The variant's index in the experiment (the v of the tag).</summary>
    [Id(0)] public int Variant { get; set; }

    /// <summary>The first impression or click of a list of the experiment (event time).</summary>
    [Id(1)] public DateTimeOffset FirstExposedAt { get; set; }

    [Id(2)] public long Impressions { get; set; }

    [Id(3)] public long Clicks { get; set; }

    [Id(4)] public long CartAdds { get; set; }

    [Id(5)] public long Purchases { get; set; }

    /// <summary>Revenue of the attributed purchase lines in the reporting currency (lines in a currency without a rate add nothing).</summary>
    [Id(6)] public decimal Revenue { get; set; }

    /// <summary>Events of lists that carried another variant of the same experiment (its definition changed): not counted.</summary>
    [Id(7)] public long Mismatched { get; set; }

    /// <summary>
    /// <see cref="Clicks"/> counts only clicks on lists whose impression arrived (a click before its impression when the
    /// impression comes). False for an outcome stored before that rule, whose clicks counted as they came: it goes on so,
    /// lest a click it counted count again when its impression arrives.
    /// </summary>
    [Id(8)] public bool ClicksOnShownListsOnly { get; set; }
}

/// <summary>One recommendation list as the user met it: its items in order once the impression arrived, and its clicks.</summary>
[GenerateSerializer, Alias("pg.shown-list")]
public sealed class ShownList
{
    [Id(0)] public string RecommendationId { get; set; } = "";

    [Id(1)] public string? Slot { get; set; }

    /// <summary>When the impression happened (event time); null while only a click of the list has arrived.</summary>
    [Id(2)] public DateTimeOffset? ShownAt { get; set; }

    /// <summary>The items shown, in order (position 1 first); empty while the impression has not arrived.</summary>
    [Id(3)] public List<string> Items { get; set; } = [];

    [Id(4)] public List<ListClick> Clicks { get; set; } = [];

    /// <summary>Conversions credited to this list.</summary>
    [Id(5)] public int Conversions { get; set; }

    /// <summary>How many items the impression listed (<see cref="Items"/> keeps the first ProfileOptions.ListItemsKept).</summary>
    [Id(6)] public int ItemsShown { get; set; }

    /// <summary>The experiment number and variant index of the recommendation id's tag (-x{number}v{index}); null without one.</summary>
    [Id(7)] public int? Experiment { get; set; }

    [Id(8)] public int? Variant { get; set; }
}

/// <summary>A click on an item of a list.</summary>
[GenerateSerializer, Alias("pg.list-click")]
public sealed class ListClick
{
    [Id(0)] public string ItemId { get; set; } = "";

    /// <summary>1-based; 0 when neither the click nor the impression said.</summary>
    [Id(1)] public int Position { get; set; }

    [Id(2)] public DateTimeOffset At { get; set; }
}

/// <summary>An item's exposure to one user: what the serving uses to demote what the user keeps ignoring.</summary>
[GenerateSerializer, Alias("pg.item-exposure")]
public sealed class ItemExposure
{
    [Id(0)] public int Shown { get; set; }

    /// <summary>Impressions of the item since its last click (all of them if it was never clicked).</summary>
    [Id(1)] public int ShownSinceClick { get; set; }

    [Id(2)] public DateTimeOffset LastShownAt { get; set; }

    [Id(3)] public DateTimeOffset? LastClickAt { get; set; }
}

/// <summary>An add to cart or a purchase line that no click could be credited with yet.</summary>
[GenerateSerializer, Alias("pg.pending-conversion")]
public sealed class PendingConversion
{
    [Id(0)] public string ItemId { get; set; } = "";

    /// <summary>True for a purchase line, false for an add to cart.</summary>
    [Id(1)] public bool Purchase { get; set; }

    [Id(2)] public DateTimeOffset At { get; set; }

    /// <summary>A purchase line's revenue (unit price x quantity) and its currency.</summary>
    [Id(3)] public decimal Amount { get; set; }

    [Id(4)] public string? Currency { get; set; }

    /// <summary>Made while the user was opted out of personalization: credited to their list, in no experiment.</summary>
    [Id(5)] public bool OptedOut { get; set; }
}
