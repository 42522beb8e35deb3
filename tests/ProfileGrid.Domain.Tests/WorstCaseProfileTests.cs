namespace ProfileGrid.Domain.Tests;

/// <summary>
/// The largest profile the gateway's validation lets a client build must still fit in one Azure Table row. Every string
/// is as long as validation allows (256 UTF-16 characters, 2,048 for URLs and user agents) and made of 3-byte UTF-8
/// characters, the most bytes per character the limit allows; every bounded collection is full.
/// </summary>
public class WorstCaseProfileTests(ITestOutputHelper output)
{
    /// <summary>ProfileGrid:Gateway:MaxStringLength and MaxLongStringLength (defaults), and MaxProperties.</summary>
    private const int MaxString = 256;
    private const int MaxLongString = 2048;
    private const int MaxProperties = 32;

    /// <summary>
    /// What one state row may hold. Orleans refuses more than 983,040 bytes of state (15 properties of 64 KiB), but Azurite
    /// measures the request, where binary properties travel as base64 (4/3 of their size), against 1 MiB: about 786,000
    /// bytes of state. Keep a margin below that.
    /// </summary>
    private const int RowBudget = ProfileOptions.StateBudgetBytes;

    /// <summary>A distinct string of <paramref name="length"/> 3-byte characters (CJK), numbered by its first two.</summary>
    private static string Long(int n, int length = MaxString) =>
        string.Concat((char)(0x4E00 + n / 1000), (char)(0x4E00 + n % 1000), new string('中', length - 2));

    public static TheoryData<string, int[]?> Windows() => new()
    {
        { "default windows (365 days of daily buckets)", null },
        { "a 3-year window (daily buckets for every day an event may be dated)", [30, 90, 365, 1096] },
    };

    [Theory]
    [MemberData(nameof(Windows))]
    public void The_largest_profile_validation_allows_fits_one_table_row(string windows, int[]? windowDays)
    {
        var options = new ProfileOptions { WindowDays = windowDays };
        var now = TestEvents.Now;
        var profile = new UserProfile { Tenant = Long(0), UserId = Long(1) };
        var events = new List<UserEvent>();
        var n = 0;
        UserEvent Event(EventKind kind, DateTimeOffset at) =>
            TestEvents.Of(kind, at, Long(n++), DeviceType.Mobile, Channel.Web, "DE", "de-DE", Long(n++, MaxLongString), anonymousId: Long(n++))
            with { Context = new EventContext { Device = DeviceType.Mobile, Country = "DE", Locale = "de-DE", UserAgent = Long(n++, MaxLongString), City = Long(n++), Region = Long(n++) } };

        // One event a day over the longest window: a daily bucket each, and sessions.
        var days = options.LongestWindowDays();
        for (var d = 0; d < days; d++)
        {
            events.Add(Event(EventKind.PageView, now.AddDays(-d).AddMinutes(-1)) with { Page = new PageInfo { Url = "https://shop.example/" + Long(n++, MaxLongString - 21) } });
        }

        // Traits and preferences until their bounds, with the longest keys and values.
        for (var i = 0; i < options.MaxTraits / MaxProperties + 1; i++)
        {
            var traits = Enumerable.Range(0, MaxProperties).ToDictionary(_ => Long(n++), _ => Long(n++));
            events.Add(Event(EventKind.Identify, now.AddMinutes(-10 - i)) with { Identify = new DemographicsUpdate { City = Long(n++), Traits = traits } });
        }

        for (var i = 0; i < options.MaxPreferences + 10; i++)
        {
            events.Add(Event(EventKind.PreferenceSet, now.AddMinutes(-100 - i)) with { Preference = new PreferenceUpdate { Key = Long(n++), Value = Long(n++) } });
        }

        // Recommendation lists shown and clicked, with ids as long as allowed, until the feedback layer is at its budget.
        for (var i = 0; i < 40; i++)
        {
            var list = Long(n++);
            var items = Enumerable.Range(0, 10).Select(_ => Long(n++)).ToArray();
            events.Add(Event(EventKind.Impression, now.AddMinutes(-50 - i)) with { Feedback = new FeedbackInfo { RecommendationId = list, Slot = Long(n++), ItemIds = items } });
            events.Add(Event(EventKind.Click, now.AddMinutes(-50 - i).AddSeconds(1)) with { Feedback = new FeedbackInfo { RecommendationId = list, ItemId = items[3] } });
        }

        // Enough events to fill the window of event ids.
        for (var i = 0; events.Count < options.DedupeWindow - options.OrderDedupeWindow; i++)
        {
            events.Add(Event(EventKind.Search, now.AddHours(-3).AddSeconds(-i)) with { Search = new SearchInfo { Query = Long(n++) } });
        }

        // Orders in every currency (the window of order ids filled), then the most recent actions: purchases whose
        // event id, product, category and order id are all as long as allowed.
        var currencies = Enumerable.Range(0, 180).Select(i => $"{(char)('A' + i / 26 % 26)}{(char)('A' + i % 26)}X").ToArray();
        for (var i = 0; i < options.OrderDedupeWindow + 50; i++)
        {
            events.Add(Event(EventKind.Purchase, now.AddSeconds(-10_000 + i)) with
            {
                Purchase = new PurchaseInfo
                {
                    OrderId = Long(n++),
                    Currency = currencies[i % currencies.Length],
                    Lines = [new PurchaseLine { ProductId = Long(n++), Category = Long(i % (options.MaxCategories * 2)), Quantity = 1, UnitPrice = 9_999_999.99m }],
                },
            });
        }

        // An order in the most parts allowed, before the orders above push its mark out of the order window: its parts
        // stay remembered apart.
        var inParts = Long(n++);
        events.InsertRange(0, Enumerable.Range(1, PurchaseInfo.MaxParts).Select(part => Event(EventKind.Purchase, now.AddSeconds(-20_000 + part)) with
        {
            Purchase = new PurchaseInfo
            {
                OrderId = inParts, Currency = "AAX", Part = part,
                Lines = [new PurchaseLine { ProductId = Long(n++), Category = Long(0), Quantity = 1, UnitPrice = 1m }],
            },
        }));

        foreach (var batch in events.Chunk(1000))
        {
            ProfileUpdater.Apply(profile, batch, options, now);
        }

        var behavior = profile.Behavior;
        Assert.Equal(options.DedupeWindow, profile.RecentEventIds.Count);
        Assert.Equal(options.OrderDedupeWindow, profile.RecentOrderIds.Count);
        Assert.Equal(PurchaseInfo.MaxParts, profile.RecentOrderParts.Count);
        Assert.Equal(options.MaxTraits, profile.Demographics.Traits.Count);
        Assert.Equal(options.MaxPreferences, profile.Preferences.Values.Count);
        Assert.Equal(options.MaxCategories, behavior.CategoryScores.Count);
        Assert.Equal(options.MaxAnonymousIds, profile.AnonymousIds.Count);
        Assert.Equal(options.RecentActionsCapacity, behavior.RecentActions.Count);
        Assert.Equal(currencies.Length, behavior.MonetaryByCurrency.Count);
        // Ids as long as allowed fill the items' bytes long before their count; the bought ones forgotten keep a hash each
        // in the same budget.
        Assert.NotEmpty(behavior.ForgottenOwned!);
        Assert.Equal(
            (options.ItemsMaxBytes - behavior.ForgottenOwned!.Count * ProfileOptions.OwnedHashBytes) / (ProfileOptions.AssumedMaxStringBytes + ProfileOptions.ItemOverheadBytes),
            behavior.Items.Count);
        Assert.InRange(behavior.DailyBuckets.Count, days - 1, days);

        Assert.InRange(FeedbackLedger.StoredBytes(profile.Feedback), options.FeedbackMaxBytes / 2, options.FeedbackMaxBytes);
        Assert.InRange(profile.Feedback.Unattributed.Count, 1, options.UnattributedCapacity);

        var stored = StoredState.Serialize(profile).Length;
        var document = ProfileJson.SerializeToUtf8Bytes(profile, options, now).Length;
        output.WriteLine($"{windows}: stored state {stored:N0} bytes ({stored * 100 / RowBudget}% of the {RowBudget:N0}-byte budget), JSON document {document:N0} bytes");
        Assert.InRange(stored, 1, RowBudget);
        // The estimate that options validation checks is an upper bound of what was measured.
        Assert.InRange(stored, 1, options.WorstCaseStateBytes());
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Bounds_whose_worst_case_outgrows_a_table_row_are_refused_at_start_up()
    {
        var options = new ProfileOptions { MaxPreferences = 1000 };

        var problem = Assert.Single(options.Validate());

        Assert.Contains("MaxPreferences", problem, StringComparison.Ordinal);
        Assert.Contains("lower some of them", problem, StringComparison.Ordinal);
        // Larger dedupe windows fit beside the default bounds (items remembered for the recommender share the row).
        Assert.Empty(new ProfileOptions { DedupeWindow = 4_000, OrderDedupeWindow = 1_500 }.Validate());
    }
}
