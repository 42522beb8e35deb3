using System.Text.Json.Serialization;

namespace ProfileGrid.Experiments.Fairness;

/// <summary>
/// What the audit knows about one group (one value of one dimension, such as gender = "female"): counts of users and
/// of their feedback, plus the per-user sums the intervals need. Immutable and summable: each shard tallies its own
/// users and <see cref="Add"/> merges shards, so the totals do not depend on how users were spread over shards.
/// Build one with <see cref="GroupTallyBuilder"/> or <see cref="ForUser"/>.
/// </summary>
public sealed record GroupTally
{
    /// <summary>The tally of nobody.</summary>
    public static GroupTally Empty { get; } = new();

    /// <summary>Users of the group known to the audit, shown something or not.</summary>
    [JsonPropertyName("users")]
    public long Users { get; init; }

    /// <summary>Users shown at least one list.</summary>
    [JsonPropertyName("exposed_users")]
    public long ExposedUsers { get; init; }

    /// <summary>Lists shown (distinct impressions).</summary>
    [JsonPropertyName("impressions")]
    public long Impressions { get; init; }

    /// <summary>Items shown, summed over the lists.</summary>
    [JsonPropertyName("items_shown")]
    public long ItemsShown { get; init; }

    /// <summary>Distinct clicks.</summary>
    [JsonPropertyName("clicks")]
    public long Clicks { get; init; }

    /// <summary>Users with at least one click.</summary>
    [JsonPropertyName("clickers")]
    public long Clickers { get; init; }

    /// <summary>Users with at least one attributed purchase.</summary>
    [JsonPropertyName("converters")]
    public long Converters { get; init; }

    /// <summary>Attributed purchases.</summary>
    [JsonPropertyName("purchases")]
    public long Purchases { get; init; }

    /// <summary>Attributed revenue in the reporting currency.</summary>
    [JsonPropertyName("revenue")]
    public double Revenue { get; init; }

    /// <summary>Σ over users of (clicks of the user)².</summary>
    [JsonPropertyName("clicks_squared_sum")]
    public double ClicksSquaredSum { get; init; }

    /// <summary>Σ over users of (impressions of the user)².</summary>
    [JsonPropertyName("impressions_squared_sum")]
    public double ImpressionsSquaredSum { get; init; }

    /// <summary>Σ over users of clicks × impressions of the user (the covariance of the delta method).</summary>
    [JsonPropertyName("clicks_impressions_sum")]
    public double ClicksImpressionsSum { get; init; }

    /// <summary>Σ over users of (revenue of the user)².</summary>
    [JsonPropertyName("revenue_squared_sum")]
    public double RevenueSquaredSum { get; init; }

    /// <summary>The sum of two tallies of disjoint users (two shards of one group).</summary>
    public static GroupTally Add(GroupTally a, GroupTally b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return new GroupTally
        {
            Users = a.Users + b.Users,
            ExposedUsers = a.ExposedUsers + b.ExposedUsers,
            Impressions = a.Impressions + b.Impressions,
            ItemsShown = a.ItemsShown + b.ItemsShown,
            Clicks = a.Clicks + b.Clicks,
            Clickers = a.Clickers + b.Clickers,
            Converters = a.Converters + b.Converters,
            Purchases = a.Purchases + b.Purchases,
            Revenue = a.Revenue + b.Revenue,
            ClicksSquaredSum = a.ClicksSquaredSum + b.ClicksSquaredSum,
            ImpressionsSquaredSum = a.ImpressionsSquaredSum + b.ImpressionsSquaredSum,
            ClicksImpressionsSum = a.ClicksImpressionsSum + b.ClicksImpressionsSum,
            RevenueSquaredSum = a.RevenueSquaredSum + b.RevenueSquaredSum,
        };
    }

    /// <summary>The sum of two tallies of disjoint users.</summary>
    public static GroupTally operator +(GroupTally a, GroupTally b) => Add(a, b);

    /// <summary>
    /// The tally of one user with these figures. Exposed: shown a list, or clicked one (its impression was lost: a click
    /// is proof of exposure, as experiments count it); a user neither shown nor clicking counts as known, not exposed,
    /// and their purchases make no converter. <paramref name="exposed"/> says so whatever the counts: clicks count only on
    /// lists whose impression arrived, so a user whose only list lost its impression has none, and is exposed all the same.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, or revenue is negative or not finite.</exception>
    public static GroupTally ForUser(long impressions, long itemsShown, long clicks, long purchases, double revenue, bool exposed = false)
    {
        NotNegative(impressions, nameof(impressions));
        NotNegative(itemsShown, nameof(itemsShown));
        NotNegative(clicks, nameof(clicks));
        NotNegative(purchases, nameof(purchases));
        if (!(double.IsFinite(revenue) && revenue >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(revenue), revenue, "Revenue must be a finite amount, 0 or more.");
        }

        exposed = exposed || impressions > 0 || clicks > 0;
        return new GroupTally
        {
            Users = 1,
            ExposedUsers = exposed ? 1 : 0,
            Impressions = impressions,
            ItemsShown = itemsShown,
            Clicks = clicks,
            Clickers = clicks > 0 ? 1 : 0,
            Converters = exposed && purchases > 0 ? 1 : 0,
            Purchases = purchases,
            Revenue = revenue,
            ClicksSquaredSum = (double)clicks * clicks,
            ImpressionsSquaredSum = (double)impressions * impressions,
            ClicksImpressionsSum = (double)clicks * impressions,
            RevenueSquaredSum = revenue * revenue,
        };
    }

    /// <summary>This tally with one more user added.</summary>
    public GroupTally Record(long impressions, long itemsShown, long clicks, long purchases, double revenue, bool exposed = false) =>
        Add(this, ForUser(impressions, itemsShown, clicks, purchases, revenue, exposed));

    private static void NotNegative(long value, string name)
    {
        if (value < 0)
        {
            throw new ArgumentOutOfRangeException(name, value, "A count cannot be negative.");
        }
    }
}

/// <summary>
/// Tallies users one by one (a shard's pass over its profiles); <see cref="ToTally"/> gives the immutable
/// <see cref="GroupTally"/>. Not thread-safe.
/// </summary>
public sealed class GroupTallyBuilder
{
    private GroupTally _tally = GroupTally.Empty;

    /// <summary>Adds one user's figures.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative, or revenue is negative or not finite.</exception>
    public GroupTallyBuilder Record(long impressions, long itemsShown, long clicks, long purchases, double revenue, bool exposed = false)
    {
        _tally = _tally.Record(impressions, itemsShown, clicks, purchases, revenue, exposed);
        return this;
    }

    /// <summary>The users recorded so far.</summary>
    public GroupTally ToTally() => _tally;
}
