using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class DedupeTests
{
    private static UserEvent[] MixedBatch() =>
    [
        SessionStart(Now.AddMinutes(-30)),
        PageView(Now.AddMinutes(-29)),
        ProductView(Now.AddMinutes(-28), "shoes"),
        AddToCart(Now.AddMinutes(-27), "shoes", 2),
        Purchase(Now.AddMinutes(-20), "EUR", 80m),
        Identify(Now.AddMinutes(-19), new DemographicsUpdate { Country = "DE", BirthYear = 1990 }),
        Preference(Now.AddMinutes(-18), new PreferenceUpdate { Key = "size", Value = "42", EmailOptIn = true }),
        Of(EventKind.Custom, Now.AddMinutes(-17), device: DeviceType.Mobile, anonymousId: "anon-1") with { Custom = new CustomInfo { Name = "quiz" } },
    ];

    [Fact]
    public void Replaying_the_same_batch_changes_nothing()
    {
        var user = new ProfileUnderTest();
        var batch = MixedBatch();
        user.Apply(batch);
        var before = user.Json();
        var stateBefore = StateJson.Of(user.Profile);

        user.Now = Now.AddMinutes(5);
        var result = user.Apply(batch);

        user.Now = Now;
        Assert.Equal(new ApplyResult(0, batch.Length), result);
        Assert.Equal(before, user.Json());
        Assert.Equal(stateBefore, StateJson.Of(user.Profile));
    }

    [Fact]
    public void A_duplicate_inside_one_batch_is_applied_once()
    {
        var user = new ProfileUnderTest();
        var purchase = Purchase(Now, "USD", 10m);

        var result = user.Apply(purchase, purchase, purchase);

        Assert.Equal(new ApplyResult(1, 2), result);
        Assert.Equal(1, user.Profile.Behavior.Orders);
        Assert.Equal(10m, ProfileMetrics.Monetary(user.Profile, user.Options).Amount);
    }

    [Fact]
    public void The_dedupe_window_remembers_the_configured_number_of_recent_ids()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { DedupeWindow = 100 } };
        var events = Enumerable.Range(0, 150).Select(i => PageView(Now.AddSeconds(i))).ToArray();
        user.Apply(events);

        Assert.Equal(100, user.Profile.RecentEventIds.Count);
        Assert.Equal(events[^100..].Select(e => EventIdWindow.Hash(e.EventId)), user.Profile.RecentEventIds.Hashes);
        Assert.Equal(0, user.Apply(events[^100..]).Applied);
        // An id that fell out of the window is held as spilled until the grain hands it to the archive of older ids;
        // then the profile alone no longer recognises it (its grain asks the archive first: next test).
        Assert.Equal(0, user.Apply(events[0]).Applied);
        user.Profile.RecentEventIds.Archived(user.Profile.RecentEventIds.Spilled.Count);
        Assert.Equal(1, user.Apply(events[0]).Applied);
    }

    [Fact]
    public void Ids_trimmed_from_the_window_spill_and_only_events_no_newer_than_them_are_asked_of_the_archive()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { DedupeWindow = 100 } };
        var events = Enumerable.Range(0, 150).Select(i => PageView(Now.AddHours(-200 + i))).ToArray();
        Assert.Null(ProfileUpdater.ArchiveQuestion(user.Profile, events));
        user.Apply(events);

        var window = user.Profile.RecentEventIds;
        Assert.Equal(events[..50].Select(e => EventIdWindow.Hash(e.EventId)), window.Spilled);
        Assert.Equal(events[^1].OccurredAt.UtcTicks, window.SpilledThroughTicks);
        Assert.True(window.Contains(events[0].EventId));

        // Handed to the archive, the spilled ids leave the profile; a replay of the whole history asks about exactly them.
        window.Archived(50);
        Assert.Empty(window.Spilled);
        var later = PageView(Now.AddHours(1));
        var question = ProfileUpdater.ArchiveQuestion(user.Profile, [.. events, later, events[3]]);
        Assert.Equal(events[..50].Select(e => EventIdWindow.Hash(e.EventId)), question);

        // With the archive's answer the replay is all duplicates and the new event counts.
        var result = ProfileUpdater.Apply(user.Profile, [.. events, later], user.Options, user.Now, archived: question!.ToHashSet());
        Assert.Equal(new ApplyResult(1, 150), result);
        Assert.Equal(151, user.Profile.EventsApplied);

        // An event after every spilled id needs no question even when new: live events of a heavy user never wait on it.
        Assert.Null(ProfileUpdater.ArchiveQuestion(user.Profile, [PageView(Now.AddHours(2))]));
    }

    [Fact]
    public void Spilled_ids_and_the_count_of_ids_added_are_not_stored_but_the_bound_of_their_times_is()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { DedupeWindow = 1 } };
        user.Apply(PageView(Now.AddDays(-2)), PageView(Now.AddDays(-1)));
        var window = user.Profile.RecentEventIds;
        Assert.Single(window.Spilled);

        var stored = StoredState.Deserialize(StoredState.Serialize(user.Profile)).RecentEventIds;

        Assert.Empty(stored.Spilled);
        Assert.Equal(0, stored.Added);
        Assert.Equal(window.SpilledThroughTicks, stored.SpilledThroughTicks);
        Assert.Equal(Now.AddDays(-1).UtcTicks, stored.SpilledThroughTicks);
        Assert.Equal(window.Hashes, stored.Hashes);
    }

    [Fact]
    public void A_row_stored_before_the_window_kept_its_newest_time_bounds_its_ids_by_its_last_update()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { DedupeWindow = 3 } };
        user.Apply(PageView(Now.AddDays(-3)), PageView(Now.AddDays(-2)));
        user.Profile.RecentEventIds.NewestTicks = 0;
        user.Profile.UpdatedAt = Now.AddDays(-1);

        // An older back-filled event must not set the bound: the stored ids may be as new as the row's last update.
        user.Apply(PageView(Now.AddDays(-30)), PageView(Now.AddDays(-29)));

        Assert.Equal(Now.AddDays(-1).AddDays(1).UtcTicks, user.Profile.RecentEventIds.SpilledThroughTicks);
        Assert.True(user.Profile.RecentEventIds.MayBeArchived(Now.AddDays(-2)));
    }

    private static UserEvent SameOrder(UserEvent purchase, string eventId, Channel source) =>
        purchase with { EventId = eventId, Source = source };

    [Fact]
    public void The_same_order_reported_under_two_event_ids_counts_once_with_its_amount_once()
    {
        var user = new ProfileUnderTest();
        var web = Purchase(Now.AddMinutes(-10), "EUR", 80m);
        var crm = SameOrder(web, "crm-export-17", Channel.Crm);

        var first = user.Apply(web);
        var second = user.Apply(crm);

        Assert.Equal(new ApplyResult(1, 0), first);
        Assert.Equal(new ApplyResult(0, 1), second);
        Assert.Equal(1, user.Profile.Behavior.Orders);
        Assert.Equal(1, user.Profile.EventsApplied);
        Assert.Equal(80m, user.Profile.Behavior.MonetaryByCurrency["EUR"].Amount);
        Assert.Equal(1, user.Window("30d").Orders);
        // A replay of the second report is recognised by its event id.
        Assert.Equal(new ApplyResult(0, 1), user.Apply(crm));
    }

    /// <summary>Part N of <paramref name="order"/> under an event id of its own, holding one line of <paramref name="amount"/>.</summary>
    private static UserEvent Part(UserEvent order, int part, decimal amount, string? eventId = null) => order with
    {
        EventId = eventId ?? $"{order.EventId}-part-{part}",
        Purchase = order.Purchase! with { Part = part, Lines = [new PurchaseLine { ProductId = $"p-part-{part}", Category = "socks", Quantity = 1, UnitPrice = amount }] },
    };

    /// <summary>
    /// An invoice of 540 lines (Online Retail's heaviest customers send such) arrives as three parts: one order, with the
    /// amount of all three, in any arrival order; a part sent again, or the whole order reported before or after, counts
    /// nothing twice.
    /// </summary>
    [Fact]
    public void An_order_sent_in_parts_counts_once_with_the_amount_of_every_part()
    {
        var order = Purchase(Now.AddMinutes(-10), "GBP", 100m);
        var parts = new[] { order with { Purchase = order.Purchase! with { Part = 1 } }, Part(order, 2, 40m), Part(order, 3, 2.5m) };

        foreach (var arrival in new[] { parts, [parts[2], parts[0], parts[1]], [parts[1], parts[2], parts[0]] })
        {
            var user = new ProfileUnderTest();
            Assert.Equal(new ApplyResult(3, 0), user.Apply(arrival));
            Assert.Equal(1, user.Profile.Behavior.Orders);
            Assert.Equal(1, user.Profile.Behavior.MonetaryByCurrency["GBP"].Orders);
            Assert.Equal(142.5m, user.Profile.Behavior.MonetaryByCurrency["GBP"].Amount);
            Assert.Equal(1, user.Window("30d").Orders);
            var behavior = user.Document().Behavior;
            Assert.Equal(behavior.Monetary, behavior.AverageOrderValue); // one order: its value is all the revenue

            // Part 2 reported again by the CRM, and the order reported whole by the web shop: duplicates.
            Assert.Equal(new ApplyResult(0, 2), user.Apply(Part(order, 2, 40m, eventId: "crm-part-2"), order with { EventId = "web-whole" }));
            Assert.Equal(142.5m, user.Profile.Behavior.MonetaryByCurrency["GBP"].Amount);
            Assert.Equal(1, user.Profile.Behavior.Orders);
        }

        // The whole order reported first (a web shop's summary, a grid that takes more lines): its parts after are duplicates.
        var wholeFirst = new ProfileUnderTest();
        var whole = order with { Purchase = order.Purchase! with { Lines = [.. parts.SelectMany(p => p.Purchase!.Lines)] } };
        Assert.Equal(new ApplyResult(1, 3), wholeFirst.Apply([whole, .. parts]));
        Assert.Equal(1, wholeFirst.Profile.Behavior.Orders);
        Assert.Equal(142.5m, wholeFirst.Profile.Behavior.MonetaryByCurrency["GBP"].Amount);

        // A part that never arrives (part 1 lost): the order still counts once, at the first part that came.
        var partial = new ProfileUnderTest();
        Assert.Equal(new ApplyResult(2, 0), partial.Apply(parts[2], parts[1]));
        Assert.Equal(1, partial.Profile.Behavior.Orders);
        Assert.Equal(42.5m, partial.Profile.Behavior.MonetaryByCurrency["GBP"].Amount);

        // Part 2 of another order with the same number is its own part.
        var other = new ProfileUnderTest();
        var second = Purchase(Now.AddMinutes(-5), "GBP", 10m);
        Assert.Equal(new ApplyResult(4, 0), other.Apply(parts[0], parts[1], second with { Purchase = second.Purchase! with { Part = 1 } }, Part(second, 2, 40m)));
        Assert.Equal(2, other.Profile.Behavior.Orders);
        Assert.Equal(190m, other.Profile.Behavior.MonetaryByCurrency["GBP"].Amount);
    }

    /// <summary>
    /// probe54: an order in the most parts allowed (then 1,000), each part in a batch of its own as the live path applies
    /// them, pushed its own "sent in parts" mark out of the order window of 1,000: part 1 sent again, then the whole order,
    /// counted again (2 orders, 2,001.00 where a rebuild of the same events gave 1 and 1,000.00). Parts are remembered
    /// apart from the orders, so every part of one order, and the orders before it, are still recognised.
    /// </summary>
    [Fact]
    public void An_order_in_the_most_parts_allowed_is_still_one_order_and_leaves_the_orders_before_it_remembered()
    {
        var user = new ProfileUnderTest();
        var earlier = Purchase(Now.AddMinutes(-30), "EUR", 5m);
        user.Apply(earlier);
        var order = Purchase(Now.AddMinutes(-10), "EUR", 1m);
        foreach (var part in Enumerable.Range(1, PurchaseInfo.MaxParts))
        {
            Assert.Equal(new ApplyResult(1, 0), user.Apply(Part(order, part, 1m)));
        }

        var total = 5m + PurchaseInfo.MaxParts;
        Assert.Equal((2, total), (user.Profile.Behavior.Orders, user.Profile.Behavior.MonetaryByCurrency["EUR"].Amount));
        var again = new[]
        {
            Part(order, 1, 1m, eventId: "crm-part-1"),
            Part(order, PurchaseInfo.MaxParts, 1m, eventId: "crm-part-last"),
            order with { EventId = "web-whole", Purchase = order.Purchase! with { Lines = [new PurchaseLine { ProductId = "p", Category = "socks", Quantity = 1, UnitPrice = PurchaseInfo.MaxParts }] } },
            SameOrder(earlier, "crm-earlier", Channel.Web),
        };
        foreach (var repeat in again)
        {
            Assert.Equal(new ApplyResult(0, 1), user.Apply(repeat));
        }

        Assert.Equal((2, total), (user.Profile.Behavior.Orders, user.Profile.Behavior.MonetaryByCurrency["EUR"].Amount));
        Assert.Equal(2, user.Profile.RecentOrderIds.Count); // the earlier order, and the order sent in parts once
        Assert.Equal(PurchaseInfo.MaxParts, user.Profile.RecentOrderParts.Count);
    }

    /// <summary>
    /// probe54: an order whose parts are in two currencies counts once, in the currency of the part that counted it; the
    /// other currency's revenue was in the reporting-currency figure but missing from the revenue by currency.
    /// </summary>
    [Fact]
    public void An_order_in_parts_of_two_currencies_lists_the_revenue_of_both()
    {
        var user = new ProfileUnderTest();
        var order = Purchase(Now.AddMinutes(-10), "EUR", 10m);
        var inPounds = Part(order, 2, 20m) with { Purchase = Part(order, 2, 20m).Purchase! with { Currency = "GBP" } };
        user.Apply(Part(order, 1, 10m), inPounds);

        var behavior = user.Document().Behavior;
        Assert.Equal(1, behavior.Orders);
        Assert.Equal([new Money(10m, "EUR"), new Money(20m, "GBP")], behavior.MonetaryByCurrency);
    }

    [Fact]
    public void Reports_of_one_order_in_one_batch_and_in_any_order_count_once()
    {
        var earlier = new ProfileUnderTest();
        var later = new ProfileUnderTest();
        var web = Purchase(Now.AddMinutes(-10), "USD", 25m);
        var crm = SameOrder(web, "crm-1", Channel.Web);

        Assert.Equal(new ApplyResult(1, 1), earlier.Apply(web, crm));
        Assert.Equal(new ApplyResult(1, 1), later.Apply(crm, web));

        Assert.Equal(earlier.Document().Behavior.Monetary, later.Document().Behavior.Monetary);
        Assert.Equal(1, later.Profile.Behavior.Orders);
        Assert.Equal(25m, later.Profile.Behavior.MonetaryByCurrency["USD"].Amount);
    }

    [Fact]
    public void Different_orders_of_one_user_all_count_and_the_order_window_is_bounded()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { OrderDedupeWindow = 3 } };
        var purchases = Enumerable.Range(0, 5).Select(i => Purchase(Now.AddMinutes(-60 + i), "USD", 10m)).ToArray();

        Assert.Equal(new ApplyResult(5, 0), user.Apply(purchases));

        Assert.Equal(5, user.Profile.Behavior.Orders);
        Assert.Equal(3, user.Profile.RecentOrderIds.Count);
        Assert.True(user.Profile.RecentOrderIds.Contains(purchases[^1].Purchase!.OrderId));
        // An order older than the window is no longer recognised: the documented limit, as for event ids.
        Assert.False(user.Profile.RecentOrderIds.Contains(purchases[0].Purchase!.OrderId));
    }

    [Fact]
    public void Orders_are_distinct_per_user_not_per_tenant()
    {
        var alice = new ProfileUnderTest();
        var bob = new ProfileUnderTest();
        var order = Purchase(Now, "USD", 10m);

        alice.Apply(order);
        bob.Apply(SameOrder(order, "bob-event", Channel.Web));

        Assert.Equal(1, bob.Profile.Behavior.Orders);
    }

    [Fact]
    public void A_profile_stored_with_string_event_ids_still_recognises_them_and_is_written_back_with_hashes()
    {
        var stored = StoredState.Deserialize(Convert.FromBase64String(LegacyRows.StringIdWindow));
        var now = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(3, stored.EventsApplied);
        Assert.Equal(["e-1", "注文-イベント-2", "e-3"], stored.RecentEventIds.LegacyIds);

        var replay = ProfileUpdater.Apply(stored, [PageView(now.AddMinutes(-30), "e-1"), PageView(now.AddMinutes(-20), "注文-イベント-2")], new ProfileOptions(), now);
        var fresh = ProfileUpdater.Apply(stored, [PageView(now.AddMinutes(-5), "e-4")], new ProfileOptions(), now);

        Assert.Equal(new ApplyResult(0, 2), replay);
        Assert.Equal(new ApplyResult(1, 0), fresh);
        var rewritten = StoredState.Deserialize(StoredState.Serialize(stored));
        Assert.Empty(rewritten.RecentEventIds.LegacyIds);
        string[] remembered = ["e-1", "注文-イベント-2", "e-3", "e-4"];
        Assert.All(remembered, id => Assert.True(rewritten.RecentEventIds.Contains(id), id));
        Assert.Equal(89.90m, rewritten.Behavior.MonetaryByCurrency["EUR"].Amount);
        Assert.Equal(4, rewritten.EventsApplied);
    }

    [Fact]
    public void An_order_of_a_profile_stored_before_order_ids_were_remembered_is_recognised_from_its_recent_actions()
    {
        var stored = StoredState.Deserialize(Convert.FromBase64String(LegacyRows.StringIdWindow));
        var now = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(0, stored.RecentOrderIds.Count);
        var crm = Purchase(now.AddMinutes(-10), "EUR", 89.90m, id: "crm-o-9") with
        {
            Source = Channel.Crm,
            Purchase = new PurchaseInfo { OrderId = "o-9", Currency = "EUR", Lines = [new PurchaseLine { ProductId = "p-17", Category = "shoes", Quantity = 1, UnitPrice = 89.90m }] },
        };

        var result = ProfileUpdater.Apply(stored, [crm], new ProfileOptions(), now);

        Assert.Equal(new ApplyResult(0, 1), result);
        Assert.Equal(1, stored.Behavior.Orders);
        Assert.Equal(89.90m, stored.Behavior.MonetaryByCurrency["EUR"].Amount);
    }

    [Fact]
    public void A_full_window_of_the_longest_non_Latin_ids_stays_small()
    {
        // The case: 2,000 ids of 256 CJK characters made one profile 1.5 MB, over the 960 KB a row holds.
        var user = new ProfileUnderTest();
        var events = Enumerable.Range(0, user.Options.DedupeWindow)
            .Select(i => PageView(Now.AddSeconds(-i), (i.ToString("D6") + new string('標', 256))[..256]))
            .ToArray();
        user.Apply(events);

        var bytes = StoredState.Serialize(user.Profile).Length;

        Assert.Equal(user.Options.DedupeWindow, user.Profile.RecentEventIds.Count);
        Assert.InRange(bytes, 1, 64 * 1024);
        Assert.Equal(0, user.Apply(events).Applied);
    }
}
