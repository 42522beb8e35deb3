namespace ProfileGrid.Domain;

/// <summary>
/// How profiles are built and bounded. Bound from the configuration section <see cref="SectionName"/>;
/// call <see cref="Validate"/> at start-up.
/// </summary>
public sealed class ProfileOptions
{
    public const string SectionName = "ProfileGrid:Profile";

    /// <summary>Inactivity (in event time) after which the next event starts a new session.</summary>
    public TimeSpan SessionTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A profile whose last event is older than this is dormant.</summary>
    public TimeSpan DormantAfter { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Length of the recent-actions sequence.</summary>
    public int RecentActionsCapacity { get; set; } = 50;

    /// <summary>
    /// How many distinct items a profile remembers interactions with (for recommendations: what it trains on, and what a
    /// user bought or rated is never offered again); beyond it, or beyond <see cref="ItemsMaxBytes"/>, the item interacted
    /// with longest ago is forgotten.
    /// </summary>
    public int MaxItemsRemembered { get; set; } = 2000;

    /// <summary>
    /// How many items bought or rated that the item bound forgot a profile still knows by a 32-bit hash of their id, so that
    /// the recommender does not offer them again (an outside probe's wholesalers had 2,700 to 3,500 products); beyond it
    /// the oldest go. Each takes <see cref="OwnedHashBytes"/> of <see cref="ItemsMaxBytes"/>, so a heavy buyer remembers
    /// fewer items in detail rather than the row growing. A hash shared by chance with a candidate hides that one item
    /// from this user: about one candidate in a million at the bound.
    /// </summary>
    public int MaxForgottenOwned { get; set; } = 4_000;

    /// <summary>
    /// What a forgotten owned item takes of <see cref="ItemsMaxBytes"/>: its 32-bit hash, variable-length encoded, and its
    /// header, and the four bytes of its last use.
    /// </summary>
    public const int OwnedHashBytes = 10;

    /// <summary>
    /// The bytes the remembered items may take (each its product id's UTF-8 bytes and <see cref="ItemOverheadBytes"/>):
    /// about 1,200 items of ids of a few characters (MovieLens 100k's heaviest user rated 737 movies), 98 of the longest
    /// ids allowed: the share of the row budget 100 items of the longest ids always had.
    /// </summary>
    public int ItemsMaxBytes { get; set; } = 80 * 1024;

    /// <summary>What a remembered item takes besides its id: the id's length, its counts, rating and two times, the entry's headers.</summary>
    public const int ItemOverheadBytes = 4 + 48 + 12;

    /// <summary>
    /// How many recent event ids a profile holds to recognise replays. Older ids go to the profile's archive
    /// (IEventIdArchiveGrain, up to 60,000 more), asked only about events no newer than the ids it holds; a replay of
    /// an event older than both would be counted again.
    /// </summary>
    public int DedupeWindow { get; set; } = 2000;

    /// <summary>
    /// How many recent order ids are remembered, so that one order reported twice under different event ids (web and
    /// CRM) counts once. An order reported again after this many newer orders of the same user would count again.
    /// </summary>
    public int OrderDedupeWindow { get; set; } = 1000;

    public int MaxAnonymousIds { get; set; } = 10;

    /// <summary>Category affinities kept; the weakest go first.</summary>
    public int MaxCategories { get; set; } = 50;

    /// <summary>CRM traits kept; traits with new keys are ignored once the profile holds this many.</summary>
    public int MaxTraits { get; set; } = 50;

    /// <summary>Explicit preference values kept; new keys are ignored once the profile holds this many.</summary>
    public int MaxPreferences { get; set; } = 100;

    /// <summary>
    /// Recent sessions kept as intervals so that late events can extend or merge them. Events older than the
    /// kept sessions are taken to belong to sessions already counted.
    /// </summary>
    public int SessionHistoryCapacity { get; set; } = 50;

    /// <summary>
    /// How long after a click on a recommended item an add to cart or a purchase of that item is credited to the list and
    /// position clicked (last click wins). Seven days covers a considered purchase; conversions after it count as organic.
    /// </summary>
    public TimeSpan AttributionWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// The days before a user's first exposure to an experiment whose purchase revenue is their pre-period covariate
    /// (CUPED): 28 covers a month of habits and stays inside the 365 daily buckets a profile keeps.
    /// </summary>
    public int PrePeriodDays { get; set; } = 28;

    /// <summary>How many recent recommendation lists (shown or clicked) a profile keeps for attribution.</summary>
    public int RecentListsCapacity { get; set; } = 20;

    /// <summary>How many items of a shown list are kept (positions beyond are not looked up for clicks that do not say).</summary>
    public int ListItemsKept { get; set; } = 50;

    /// <summary>How many items' exposures (times shown, since last click) a profile keeps; the least recently shown go first.</summary>
    public int ExposuresCapacity { get; set; } = 200;

    /// <summary>
    /// How many add to carts and purchase lines without a click to credit are kept for a click that arrives late (an
    /// app's queued click after the web's purchase). Every buyer keeps up to this many, so it stays small.
    /// </summary>
    public int UnattributedCapacity { get; set; } = 10;

    /// <summary>How many experiments' outcomes a profile keeps (the one exposed longest ago goes first); they count in <see cref="FeedbackMaxBytes"/>.</summary>
    public int ExperimentsKept { get; set; } = 20;

    /// <summary>
    /// The most the feedback layer may store, in UTF-8 bytes of its ids and a fixed cost per entry: beyond it the oldest
    /// lists, then the least recently shown exposures go first. Ids are up to 768 bytes, so counts alone would let the
    /// layer outgrow a table row. 6 KB holds 20 lists of 10 short ids and about 50 exposures; it is what the row budget
    /// leaves with a 3-year window and the other defaults (raise it with shorter windows: validation says when too far).
    /// </summary>
    public int FeedbackMaxBytes { get; set; } = 6 * 1024;

    /// <summary>Half-life of engagement velocity and category affinities.</summary>
    public TimeSpan EngagementHalfLife { get; set; } = TimeSpan.FromDays(7);

    /// <summary>ISO 4217 code of the currency that monetary values, windows and average order value are reported in.</summary>
    public string ReportingCurrency { get; set; } = "USD";

    /// <summary>
    /// Units of <see cref="ReportingCurrency"/> per unit of each currency; the reporting currency itself is 1 whether
    /// listed or not (listed, it must be 1). A currency not listed here takes its rate from <see cref="DemoRatesToUsd"/>,
    /// a small static table of approximate late-2025 rates good for demos only, converted to the reporting currency when
    /// the table has both. Amounts in a currency without a rate still count as orders and are kept in the per-currency
    /// totals, but they add nothing to reporting-currency revenue or average order value.
    /// </summary>
    public Dictionary<string, decimal> ExchangeRates { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>US dollars per unit of each currency, approximately (late 2025): the demo rates.</summary>
    public static IReadOnlyDictionary<string, decimal> DemoRatesToUsd { get; } = new Dictionary<string, decimal>(StringComparer.OrdinalIgnoreCase)
    {
        ["USD"] = 1m,
        ["EUR"] = 1.16m,
        ["GBP"] = 1.33m,
        ["JPY"] = 0.0066m,
        ["CAD"] = 0.72m,
        ["AUD"] = 0.65m,
        ["CHF"] = 1.25m,
        ["SEK"] = 0.105m,
        ["PLN"] = 0.27m,
        ["NOK"] = 0.099m,
        ["DKK"] = 0.155m,
        ["BRL"] = 0.19m,
        ["MXN"] = 0.054m,
    };

    /// <summary>The reporting windows used when <see cref="WindowDays"/> is not set.</summary>
    public static IReadOnlyList<int> DefaultWindowDays { get; } = [30, 90, 365];

    /// <summary>
    /// Sliding windows (in UTC days, today included) reported besides "all"; null means
    /// <see cref="DefaultWindowDays"/> (30, 90, 365). Daily buckets are kept only for the longest window.
    /// Null rather than a default array because configuration binding appends to an existing array.
    /// </summary>
    public int[]? WindowDays { get; set; }

    /// <summary>The distinct windows in days, shortest first.</summary>
    public IReadOnlyList<int> Windows() =>
        WindowDays is null ? DefaultWindowDays : WindowDays.Where(d => d > 0).Distinct().Order().ToArray();

    /// <summary>The longest window in days: how far back daily buckets are kept.</summary>
    public int LongestWindowDays() => Windows() is { Count: > 0 } windows ? windows[^1] : 0;

    /// <summary>
    /// Units of the reporting currency per unit of <paramref name="currency"/>: the configured rate, 1 for the reporting
    /// currency, else the demo rate converted to the reporting currency (so a grid reporting in BRL does not read dollars
    /// as reais); null when there is no rate.
    /// </summary>
    public decimal? RateToReporting(string currency)
    {
        if (ExchangeRates.TryGetValue(currency, out var rate))
        {
            return rate;
        }

        if (string.Equals(currency, ReportingCurrency, StringComparison.OrdinalIgnoreCase))
        {
            return 1m;
        }

        return DemoRatesToUsd.TryGetValue(currency, out var toUsd) && DemoRatesToUsd.TryGetValue(ReportingCurrency, out var reportingToUsd)
            ? toUsd / reportingToUsd
            : null;
    }

    /// <summary>
    /// What one profile's stored state may grow to, in bytes: Orleans refuses state over 983,040 bytes for a table row,
    /// and Azurite measures requests (where state travels as base64) against 1 MiB, about 786,000 bytes of state.
    /// </summary>
    public const int StateBudgetBytes = 720 * 1024;

    /// <summary>
    /// The longest string the profile keeps from an event, in UTF-8 bytes: the gateway's default limit of 256 UTF-16
    /// characters (ProfileGrid:Gateway:MaxStringLength) of 3-byte characters.
    /// </summary>
    public const int AssumedMaxStringBytes = 256 * 3;

    /// <summary>
    /// An upper bound of the stored state's size with these bounds, when every kept string is as long as
    /// <see cref="AssumedMaxStringBytes"/> (ids, keys, values, categories) and every bounded collection is full. Dedupe
    /// windows hold 64-bit hashes, so they cost about 10 bytes an id whatever the ids' length.
    /// </summary>
    public long WorstCaseStateBytes()
    {
        const long text = AssumedMaxStringBytes + 4;  // a string and its length
        const long entry = 12;                        // a collection entry's field headers
        const long hash = 10;                         // a 64-bit hash, variable-length encoded, and its header
        const long fixedPart = 16 * 1024;             // scalars, context, demographics, 180 ISO 4217 currency totals
        return fixedPart
            + MaxAnonymousIds * (text + entry)
            + MaxTraits * (3 * text + 8 + entry)          // key, value, and the field clock "traits.{key}" with its time
            + MaxPreferences * (3 * text + 8 + entry)     // the same for "values.{key}"
            + MaxCategories * (text + 8 + entry)
            + RecentActionsCapacity * (3 * text + 3 * 200 + 40)  // event id, product, category, a 200-character detail
            + Math.Min((long)MaxItemsRemembered * (AssumedMaxStringBytes + ItemOverheadBytes) + (long)MaxForgottenOwned * OwnedHashBytes, ItemsMaxBytes) // items (id, counts, rating, two times) and forgotten owned ones' hashes
            + SessionHistoryCapacity * 40L
            + LongestWindowDays() * 48L
            + (DedupeWindow + OrderDedupeWindow + Abstractions.Events.PurchaseInfo.MaxParts) * hash
            + FeedbackMaxBytes;                            // the feedback layer, bounded in bytes (its counters are in the fixed part)
    }

    /// <summary>The problems that make these options unusable, each a sentence naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero)
            {
                problems.Add($"{SectionName}:{name} must be positive (is {value}).");
            }
        }

        void AtLeastOne(int value, string name)
        {
            if (value < 1)
            {
                problems.Add($"{SectionName}:{name} must be at least 1 (is {value}).");
            }
        }

        Positive(SessionTimeout, nameof(SessionTimeout));
        Positive(DormantAfter, nameof(DormantAfter));
        Positive(EngagementHalfLife, nameof(EngagementHalfLife));
        AtLeastOne(RecentActionsCapacity, nameof(RecentActionsCapacity));
        AtLeastOne(DedupeWindow, nameof(DedupeWindow));
        AtLeastOne(OrderDedupeWindow, nameof(OrderDedupeWindow));
        AtLeastOne(MaxAnonymousIds, nameof(MaxAnonymousIds));
        AtLeastOne(MaxCategories, nameof(MaxCategories));
        AtLeastOne(MaxTraits, nameof(MaxTraits));
        AtLeastOne(MaxPreferences, nameof(MaxPreferences));
        AtLeastOne(SessionHistoryCapacity, nameof(SessionHistoryCapacity));
        AtLeastOne(MaxItemsRemembered, nameof(MaxItemsRemembered));
        if (MaxForgottenOwned < 0 || (long)MaxForgottenOwned * OwnedHashBytes > ItemsMaxBytes / 2)
        {
            problems.Add($"{SectionName}:{nameof(MaxForgottenOwned)} must be between 0 and {ItemsMaxBytes / 2 / OwnedHashBytes} (its hashes and times take at most half of ItemsMaxBytes, {OwnedHashBytes} bytes each; is {MaxForgottenOwned}).");
        }

        if (ItemsMaxBytes < AssumedMaxStringBytes + ItemOverheadBytes)
        {
            problems.Add($"{SectionName}:ItemsMaxBytes must hold one item of the longest id, at least {AssumedMaxStringBytes + ItemOverheadBytes} (is {ItemsMaxBytes}).");
        }

        Positive(AttributionWindow, nameof(AttributionWindow));
        AtLeastOne(RecentListsCapacity, nameof(RecentListsCapacity));
        if (PrePeriodDays is < 1 or > 365)
        {
            problems.Add($"{SectionName}:{nameof(PrePeriodDays)} must be 1-365 (the days of daily activity a profile keeps); is {PrePeriodDays}.");
        }

        AtLeastOne(ListItemsKept, nameof(ListItemsKept));
        AtLeastOne(ExposuresCapacity, nameof(ExposuresCapacity));
        AtLeastOne(UnattributedCapacity, nameof(UnattributedCapacity));
        AtLeastOne(ExperimentsKept, nameof(ExperimentsKept));
        if (ExperimentsKept * 64 > FeedbackMaxBytes / 2)
        {
            problems.Add($"{SectionName}:{nameof(ExperimentsKept)} of {ExperimentsKept} would take more than half of {nameof(FeedbackMaxBytes)} ({FeedbackMaxBytes}); lower it or raise {nameof(FeedbackMaxBytes)}.");
        }
        if (FeedbackMaxBytes < 2048)
        {
            problems.Add($"{SectionName}:{nameof(FeedbackMaxBytes)} must be at least 2048 (is {FeedbackMaxBytes}).");
        }

        if (problems.Count == 0 && WorstCaseStateBytes() is var worstCase && worstCase > StateBudgetBytes)
        {
            problems.Add($"{SectionName}: with these bounds (MaxTraits, MaxPreferences, MaxCategories, MaxAnonymousIds, RecentActionsCapacity, " +
                $"SessionHistoryCapacity, MaxItemsRemembered, ItemsMaxBytes, MaxForgottenOwned, DedupeWindow, OrderDedupeWindow, WindowDays, FeedbackMaxBytes) one profile could store {worstCase:N0} bytes, more than the " +
                $"{StateBudgetBytes:N0} a table row allows; lower some of them.");
        }

        if (!IsCurrencyCode(ReportingCurrency))
        {
            problems.Add($"{SectionName}:{nameof(ReportingCurrency)} must be an upper-case ISO 4217 code such as USD (is '{ReportingCurrency}').");
        }
        else if (RateToReporting(ReportingCurrency) != 1m)
        {
            problems.Add($"{SectionName}:{nameof(ExchangeRates)}:{ReportingCurrency} must be 1 (it is the reporting currency; is {RateToReporting(ReportingCurrency)}).");
        }

        foreach (var (currency, rate) in ExchangeRates)
        {
            if (!IsCurrencyCode(currency.ToUpperInvariant()))
            {
                problems.Add($"{SectionName}:{nameof(ExchangeRates)} has '{currency}', which is not an ISO 4217 code.");
            }

            if (rate <= 0)
            {
                problems.Add($"{SectionName}:{nameof(ExchangeRates)}:{currency} must be positive (is {rate}).");
            }
        }

        if (WindowDays is not null && (WindowDays.Length == 0 || WindowDays.Any(d => d < 1 || d > 3660)))
        {
            problems.Add($"{SectionName}:{nameof(WindowDays)} must list window lengths between 1 and 3660 days (is [{string.Join(", ", WindowDays)}]).");
        }

        return problems;
    }

    private static bool IsCurrencyCode(string? code) => code is { Length: 3 } && code.All(c => c is >= 'A' and <= 'Z');
}
