using System.Globalization;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Identity;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>
/// Applies events and direct writes to a <see cref="UserProfile"/> incrementally: each event updates every layer
/// in O(bounded collections), never by rescanning history.
/// </summary>
/// <remarks>
/// Events may arrive in any order. Everything keyed by event time (counts, first/last seen, purchases, daily
/// buckets, sessions, engagement, recent actions, last context, identify and preference fields) comes out
/// the same whatever the arrival order, within the documented approximations of session lengths and the
/// floor at zero of category affinities. Only the order of anonymous ids and which new trait, preference or
/// weak category keys fit under their bound depend on arrival order.
/// </remarks>
public static class ProfileUpdater
{
    /// <summary>Bounded length of <see cref="RecentAction.Detail"/>.</summary>
    public const int MaxDetailLength = 200;

    /// <summary>Bounded length of <see cref="ContextState.LastUserAgent"/>.</summary>
    public const int MaxUserAgentLength = 512;

    private const double ProductViewWeight = 1;
    private const double RatingWeight = 1;
    private const double AddToCartWeight = 3;
    private const double RemoveFromCartWeight = -1;
    private const double PurchaseLineWeight = 5;

    private static readonly IReadOnlyDictionary<string, string> EmptyTraits = new Dictionary<string, string>();

    /// <summary>
    /// Applies a batch of events. An event whose id is in the dedupe window is a replay, and a purchase whose order id
    /// is in the order window reports an order already applied: both are counted in
    /// <see cref="ApplyResult.Duplicates"/> and change nothing but the windows. <paramref name="now"/> (processing time) stamps
    /// <see cref="UserProfile.UpdatedAt"/> and decides which daily buckets are old enough to drop.
    /// </summary>
    /// <param name="archived">
    /// Hashes of this batch's event ids that the profile's archive of spilled ids holds (<see cref="ArchiveQuestion"/>):
    /// those events are repeats too.
    /// </param>
    public static ApplyResult Apply(
        UserProfile profile, IReadOnlyList<UserEvent> events, ProfileOptions options, DateTimeOffset now, IEventTally? tally = null,
        IReadOnlySet<ulong>? archived = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(options);

        if (profile.RecentEventIds is { NewestTicks: 0, Count: > 0 } legacy)
        {
            // A row stored before the window kept the newest time of its ids: they are no newer than its last update and
            // the few minutes ahead of processing time an event may be.
            legacy.NewestTicks = (profile.UpdatedAt + TimeSpan.FromDays(1)).UtcTicks;
        }

        if (profile.Behavior.BucketRevenueCurrency is null && profile.Behavior.DailyBuckets.Any(day => day.Revenue != 0m))
        {
            // A row stored before the buckets named their currency holds revenue converted to the reporting currency of
            // the time: named now, with the next event's write, so that a later change of reporting currency reads it right.
            profile.Behavior.BucketRevenueCurrency = SharedText.Of(options.ReportingCurrency);
        }

        var oldestKeptDay = DailyBuckets.OldestKeptDay(NewestActivity(profile, events), now, options.LongestWindowDays());
        RememberOrdersOfOlderRows(profile);
        int applied = 0, duplicates = 0;
        var remembered = false;
        foreach (var userEvent in events)
        {
            var hash = EventIdWindow.Hash(userEvent.DedupeId ?? userEvent.EventId);
            if ((archived is { Count: > 0 } && archived.Contains(hash)) || !profile.RecentEventIds.TryAdd(hash, userEvent.OccurredAt))
            {
                duplicates++;
                continue;
            }

            remembered = true;
            var report = OrderReportOf(profile, userEvent);
            if (report == OrderReport.Repeated)
            {
                // Its event id stays remembered, so a replay of this report is recognised without looking at the order.
                duplicates++;
                continue;
            }

            ApplyEvent(profile, userEvent, options, oldestKeptDay, countsOrder: report != OrderReport.LaterPart);
            tally?.Applied(userEvent);
            applied++;
        }

        if (remembered)
        {
            profile.RecentEventIds.TrimTo(options.DedupeWindow, spill: true);
            profile.RecentOrderIds.TrimTo(options.OrderDedupeWindow);
            profile.RecentOrderParts.TrimTo(PurchaseInfo.MaxParts);
        }

        if (applied > 0)
        {
            DailyBuckets.Prune(profile.Behavior.DailyBuckets, oldestKeptDay);
            profile.EventsApplied += applied;
            Touch(profile, now);
        }

        return new ApplyResult(applied, duplicates);
    }

    /// <summary>
    /// The hashes of this batch's event ids that only the profile's archive of spilled ids can tell apart (not in its
    /// window, and no newer than the ids it spilled), each once; null when there are none, which is every batch of a
    /// profile that never spilled and every batch newer than what it spilled.
    /// </summary>
    public static ulong[]? ArchiveQuestion(UserProfile profile, IReadOnlyList<UserEvent> events)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(events);
        var window = profile.RecentEventIds;
        if (window.SpilledThroughTicks == 0)
        {
            return null;
        }

        HashSet<ulong>? question = null;
        foreach (var userEvent in events)
        {
            if (window.MayBeArchived(userEvent.OccurredAt) && EventIdWindow.Hash(userEvent.DedupeId ?? userEvent.EventId) is var hash && !window.Contains(hash))
            {
                (question ??= []).Add(hash);
            }
        }

        return question?.ToArray();
    }

    /// <summary>
    /// The time of the profile's newest event, this batch's included, that the kept daily activity reaches back from
    /// (<see cref="DailyBuckets.OldestKeptDay"/>). A history imported years after it happened keeps its last year of days,
    /// so windows read as of a day in that history count it; live profiles, whose newest event is today, keep the last
    /// year to now.
    /// </summary>
    private static DateTimeOffset NewestActivity(UserProfile profile, IReadOnlyList<UserEvent> events)
    {
        var newest = profile.Behavior.LastSeen ?? DateTimeOffset.MinValue;
        foreach (var userEvent in events)
        {
            // A list shown is not activity (it sets no last seen and fills no day): lists shown today to the users of a
            // history imported years later must not push that history's daily activity out.
            // Nor is a duplicate: a retry re-dated by its sender must not push out days it does not add to.
            if (userEvent.OccurredAt > newest && !IsShownList(userEvent) && !profile.RecentEventIds.Contains(userEvent.DedupeId ?? userEvent.EventId))
            {
                newest = userEvent.OccurredAt;
            }
        }

        return newest;
    }

    /// <summary>
    /// A profile stored before order ids were remembered has orders but an empty order window: fill it with the order ids
    /// its recent actions still show (those not truncated), oldest first, so that an order reported again soon after
    /// the upgrade is still recognised.
    /// </summary>
    private static void RememberOrdersOfOlderRows(UserProfile profile)
    {
        if (profile.Behavior.Orders == 0 || profile.RecentOrderIds.Count > 0)
        {
            return;
        }

        foreach (var action in profile.Behavior.RecentActions)
        {
            if (action is { Kind: EventKind.Purchase, Detail: { Length: > 0 and < MaxDetailLength } orderId })
            {
                profile.RecentOrderIds.TryAdd(orderId);
            }
        }
    }

    private enum OrderReport
    {
        /// <summary>Not an order, or an order (or the first part of one) seen for the first time: it counts.</summary>
        Counts,

        /// <summary>A part of an order another part of which came before: it adds its lines, not an order.</summary>
        LaterPart,

        /// <summary>An order, or a part, applied before (under another event id: web and CRM report one order).</summary>
        Repeated,
    }

    /// <summary>
    /// Orders are distinct per user by order id, so the first report applied counts and later ones are duplicates,
    /// whatever their event times. An order sent whole is remembered by its id. One sent in parts is remembered once as
    /// sent in parts among the orders, and part by part (the order id and the part's number) among the parts; the first
    /// part to arrive counts the order, the others add their lines. The first form decides: parts after the whole order,
    /// or the whole after a part, are duplicates, so neither counts twice.
    /// </summary>
    private static OrderReport OrderReportOf(UserProfile profile, UserEvent userEvent)
    {
        switch (userEvent.Kind)
        {
            case EventKind.Purchase when userEvent.Purchase is { OrderId: { Length: > 0 } orderId } purchase:
                var ids = profile.RecentOrderIds;
                var inParts = orderId + OrderPartSeparator + "parts";
                if (purchase.Part == 0)
                {
                    return ids.Contains(inParts) || !ids.TryAdd(orderId) ? OrderReport.Repeated : OrderReport.Counts;
                }

                // A row written while parts shared the order window may still hold this part's key there.
                var partKey = orderId + OrderPartSeparator + purchase.Part.ToString(CultureInfo.InvariantCulture);
                if (ids.Contains(orderId) || ids.Contains(partKey) || !profile.RecentOrderParts.TryAdd(partKey))
                {
                    return OrderReport.Repeated;
                }

                return ids.TryAdd(inParts) ? OrderReport.Counts : OrderReport.LaterPart;
            case EventKind.Refund when userEvent.Refund is { RefundId: { Length: > 0 } refundId }:
                // A refund reported twice (under two event ids) gives back once; its key cannot collide with an order id's.
                return profile.RecentOrderIds.TryAdd(RefundKeyPrefix + refundId) ? OrderReport.Counts : OrderReport.Repeated;
            default:
                return OrderReport.Counts;
        }
    }

    private const string RefundKeyPrefix = "\u0001refund:";

    // Order ids are printable (validation refuses control characters), so "o" part 2 cannot collide with an order id.
    private const string OrderPartSeparator = "\u0001part:";

    /// <summary>
    /// Gives back the spare capacity of the profile's growing collections (and packs recent actions of a row stored in the
    /// earlier shape): a resident profile keeps them for as long as it is active. Changes no value.
    /// </summary>
    public static void TrimExcess(UserProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var behavior = profile.Behavior;
        behavior.RecentActions.TrimExcess();
        behavior.DailyBuckets.TrimExcess();
        behavior.RecentSessions.TrimExcess();
        profile.RecentEventIds.TrimExcess();
        profile.RecentOrderIds.TrimExcess();
        profile.RecentOrderParts.TrimExcess();
        profile.Feedback.RecentLists.TrimExcess();
        profile.Feedback.Unattributed.TrimExcess();
        profile.Feedback.Exposures.TrimExcess();

        // Trimming keeps a dictionary's enumeration order, which the weakest-category choice depends on for ties.
        behavior.EventCounts.TrimExcess();
        behavior.Items.TrimExcess();
        behavior.CategoryScores.TrimExcess();
        behavior.MonetaryByCurrency.TrimExcess();
        profile.Context.ChannelMix.TrimExcess();
        profile.Context.DeviceMix.TrimExcess();
        profile.Demographics.Traits.TrimExcess();
        profile.Demographics.FieldUpdatedAt.TrimExcess();
        profile.Preferences.Values.TrimExcess();
        profile.Preferences.FieldUpdatedAt.TrimExcess();
    }

    /// <summary>
    /// Makes a profile just read from storage hold what a profile built in this process holds: text shared with the
    /// other profiles (<see cref="SharedText"/>), recent actions of an earlier row shape packed, no spare capacity.
    /// Changes no value.
    /// </summary>
    public static void Compact(UserProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var (behavior, context, demographics, preferences) = (profile.Behavior, profile.Context, profile.Demographics, profile.Preferences);
        profile.Tenant = SharedText.Of(profile.Tenant)!;
        behavior.MonetaryByCurrency = SharedText.Keys(behavior.MonetaryByCurrency);
        foreach (var bucket in behavior.DailyBuckets)
        {
            if (bucket.RefundedByCurrency is { } refunded)
            {
                bucket.RefundedByCurrency = SharedText.Keys(refunded);
            }

            if (bucket.RevenueByCurrency is { } paid)
            {
                bucket.RevenueByCurrency = SharedText.Keys(paid);
            }
        }

        behavior.BucketRevenueCurrency = SharedText.Of(behavior.BucketRevenueCurrency);

        behavior.CategoryScores = SharedText.Keys(behavior.CategoryScores);
        context.LastCountry = SharedText.Of(context.LastCountry);
        context.LastLocale = SharedText.Of(context.LastLocale);
        context.LastUserAgent = SharedText.Of(context.LastUserAgent);
        demographics.Country = SharedText.Of(demographics.Country);
        demographics.Language = SharedText.Of(demographics.Language);
        demographics.City = SharedText.Of(demographics.City);
        demographics.Traits = SharedText.Keys(demographics.Traits);
        demographics.FieldUpdatedAt = SharedText.Keys(demographics.FieldUpdatedAt);
        preferences.Values = SharedText.Keys(preferences.Values);
        preferences.FieldUpdatedAt = SharedText.Keys(preferences.FieldUpdatedAt);
        var feedback = profile.Feedback;
        feedback.AttributedRevenue = SharedText.Keys(feedback.AttributedRevenue);
        foreach (var list in feedback.RecentLists)
        {
            list.Slot = SharedText.Of(list.Slot);
        }

        foreach (var waiting in feedback.Unattributed)
        {
            waiting.Currency = SharedText.Of(waiting.Currency);
        }

        TrimExcess(profile);
    }

    /// <summary>Merges a CRM upsert into the demographics: non-null fields and traits win unless a newer value is known.</summary>
    public static void ApplyAttributes(UserProfile profile, DemographicsUpdate update, DateTimeOffset now, ProfileOptions options)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(options);
        if (MergeDemographics(profile.Demographics, update, now, options))
        {
            Touch(profile, now);
        }
    }

    /// <summary>Merges a preference-centre write: one preference (a null value removes it) and/or consent flags.</summary>
    public static void ApplyPreferences(UserProfile profile, PreferenceUpdate update, DateTimeOffset now, ProfileOptions options)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(update);
        ArgumentNullException.ThrowIfNull(options);
        if (MergePreferences(profile.Preferences, update, now, options))
        {
            Touch(profile, now);
        }
    }

    /// <summary>
    /// Whom feedback in this profile speaks for: the profile's user (a person's profile takes its visitors' forwarded
    /// events), the event's profile, and its anonymous id's visitor profile (a list served before a login).
    /// </summary>
    private static string[] Viewers(UserProfile profile, UserEvent userEvent) =>
        userEvent.AnonymousId is { Length: > 0 } anonymous
            ? [profile.UserId, userEvent.UserId, IdentifierKinds.Name(IdentifierKinds.Anonymous, anonymous)]
            : [profile.UserId, userEvent.UserId];

    /// <summary>
    /// False when the user had opted out of personalization by <paramref name="time"/>: feedback then counts for no
    /// experiment variant. (An opt-out that arrives after feedback it predates leaves that feedback counted in the profile;
    /// the user's report counts in no experiment while opted out either way, FeedbackReport.)
    /// </summary>
    private static bool ExperimentedAt(UserProfile profile, DateTimeOffset time) =>
        profile.Preferences.PersonalizationOptIn != false
        || (profile.Preferences.FieldUpdatedAt.TryGetValue("personalizationOptIn", out var optedOutAt) && optedOutAt > time);

    private static bool IsShownList(UserEvent userEvent) => userEvent.Kind == EventKind.Impression && userEvent.Feedback is not null;

    private static void Touch(UserProfile profile, DateTimeOffset now)
    {
        if (profile.CreatedAt == default)
        {
            profile.CreatedAt = now;
        }

        profile.UpdatedAt = now;
    }

    private static void ApplyEvent(UserProfile profile, UserEvent userEvent, ProfileOptions options, int oldestKeptDay, bool countsOrder)
    {
        var time = userEvent.OccurredAt.ToUniversalTime();
        var behavior = profile.Behavior;

        if (profile.Tenant.Length == 0)
        {
            profile.Tenant = userEvent.Tenant;
        }

        if (profile.UserId.Length == 0)
        {
            profile.UserId = userEvent.UserId;
        }

        RecordAnonymousId(profile.AnonymousIds, userEvent.AnonymousId, options.MaxAnonymousIds);

        behavior.EventCounts[userEvent.Kind] = behavior.EventCounts.GetValueOrDefault(userEvent.Kind) + 1;
        if (IsShownList(userEvent) && userEvent.Feedback is { } shown)
        {
            // A list shown is not something the user did: it counts in the feedback layer and by type only, not as
            // activity (first and last seen, events per day, engagement, sessions, recent actions), which three impressions
            // per page would swamp, and an email of recommendations to lapsed buyers would make them look active again.
            // Nor as context (last device, channel, country, channel mix, hours): a batch of emails sent at 3 a.m. is not
            // the user's habit (probe58).
            FeedbackLedger.Impression(profile.Feedback, shown, time, options, Viewers(profile, userEvent), ExperimentedAt(profile, time));
            return;
        }

        behavior.FirstSeen = Earliest(behavior.FirstSeen, time);
        behavior.LastSeen = Latest(behavior.LastSeen, time);

        if (DailyBuckets.GetOrAdd(behavior.DailyBuckets, UtcDay.Of(time), oldestKeptDay) is { } bucket)
        {
            bucket.Events++;
        }

        if (userEvent.Kind != EventKind.Refund)
        {
            // Nor is a refund engagement: a burst of returns booked for an order export read as heavy activity and moved
            // a customer into the top spenders' segment (probe69).
            AddEngagement(behavior, time, options.EngagementHalfLife);
        }

        // CRM records (exports, back-office updates) describe the user but are not visits, and neither is a refund: the
        // shop gives the money back (an order export's cancellation row, a return booked at the till) whatever channel
        // reports it.
        if (userEvent.Source != Channel.Crm && userEvent.Kind != EventKind.Refund)
        {
            Sessionizer.Record(behavior, time, userEvent.Kind == EventKind.SessionStart, options, oldestKeptDay);
        }

        RecordContext(profile.Context, userEvent, time);

        switch (userEvent.Kind)
        {
            case EventKind.ProductView:
                AddAffinity(behavior, userEvent.Product?.Category, ProductViewWeight, time, options);
                if (RecordItem(behavior, userEvent.Product?.ProductId, time, options) is { } viewed)
                {
                    viewed.Views++;
                }

                break;
            case EventKind.AddToCart:
                behavior.CartAdds += Quantity(userEvent.Product);
                AddAffinity(behavior, userEvent.Product?.Category, AddToCartWeight, time, options);
                if (RecordItem(behavior, userEvent.Product?.ProductId, time, options) is { } carted)
                {
                    carted.CartAdds++;
                }

                if (userEvent.Product?.ProductId is { } cartedId)
                {
                    FeedbackLedger.Conversion(profile.Feedback, cartedId, purchase: false, 0m, null, time, options, ExperimentedAt(profile, time));
                }

                break;
            case EventKind.Rating when userEvent.Rating is { } rating:
                // Affinity is interest shown, not approval: a rating says the user used the item, as a view says they looked
                // at it whatever they thought of it (the profile does not know the tenant's scale to tell a dislike).
                AddAffinity(behavior, userEvent.Product?.Category, RatingWeight, time, options);
                if (RecordItem(behavior, userEvent.Product?.ProductId, time, options, owns: true) is { } rated && !(rated.RatedAt > time))
                {
                    (rated.Rating, rated.RatedAt) = (rating, time);
                }

                break;
            case EventKind.RemoveFromCart:
                behavior.CartRemoves += Quantity(userEvent.Product);
                AddAffinity(behavior, userEvent.Product?.Category, RemoveFromCartWeight, time, options);
                break;
            case EventKind.Search:
                behavior.Searches++;
                break;
            case EventKind.Purchase:
                RecordPurchase(behavior, userEvent.Purchase, time, options, oldestKeptDay, countsOrder);
                if (userEvent.Purchase is { } order)
                {
                    var currency = order.Currency.ToUpperInvariant();
                    foreach (var line in order.Lines)
                    {
                        FeedbackLedger.Conversion(profile.Feedback, line.ProductId, purchase: true, line.UnitPrice * line.Quantity, currency, time, options, ExperimentedAt(profile, time));
                    }
                }

                break;
            case EventKind.Refund when userEvent.Refund is { } refund:
                RecordRefund(behavior, refund, time, options, oldestKeptDay);
                break;
            case EventKind.Click when userEvent.Feedback is { ItemId: not null } clicked:
                FeedbackLedger.Click(profile.Feedback, clicked, time, options, Viewers(profile, userEvent), ExperimentedAt(profile, time));
                break;
            case EventKind.Identify when userEvent.Identify is { } identify:
                MergeDemographics(profile.Demographics, identify, time, options);
                break;
            case EventKind.PreferenceSet when userEvent.Preference is { } preference:
                MergePreferences(profile.Preferences, preference, time, options);
                break;
        }

        RecentActions.Insert(behavior.RecentActions, RecentActions.From(userEvent, time), options.RecentActionsCapacity);
    }

    private static void RecordAnonymousId(List<string> anonymousIds, string? anonymousId, int capacity)
    {
        if (string.IsNullOrEmpty(anonymousId))
        {
            return;
        }

        // Most recently seen last, so the bound drops the id not seen for the longest.
        var index = anonymousIds.IndexOf(anonymousId);
        if (index == anonymousIds.Count - 1 && index >= 0)
        {
            return;
        }

        if (index >= 0)
        {
            anonymousIds.RemoveAt(index);
        }

        anonymousIds.Add(anonymousId);
        if (anonymousIds.Count > capacity)
        {
            anonymousIds.RemoveRange(0, anonymousIds.Count - capacity);
        }
    }

    /// <param name="counts">False for a later part of an order sent in parts: it adds its lines and amount, not an order.</param>
    private static void RecordPurchase(BehaviorState behavior, PurchaseInfo? purchase, DateTimeOffset time, ProfileOptions options, int oldestKeptDay, bool counts)
    {
        if (counts)
        {
            behavior.Orders++;
        }

        behavior.FirstPurchaseAt = Earliest(behavior.FirstPurchaseAt, time);
        behavior.LastPurchaseAt = Latest(behavior.LastPurchaseAt, time);
        var bucket = DailyBuckets.GetOrAdd(behavior.DailyBuckets, UtcDay.Of(time), oldestKeptDay);
        if (bucket is not null && counts)
        {
            bucket.Orders++;
        }

        if (purchase is null)
        {
            return;
        }

        var currency = purchase.Currency.ToUpperInvariant();
        var total = purchase.Total;
        if (!behavior.MonetaryByCurrency.TryGetValue(currency, out var paid))
        {
            paid = new CurrencyTotal();
            behavior.MonetaryByCurrency[SharedText.Of(currency)!] = paid;
        }

        paid.Amount += total;
        if (counts)
        {
            paid.Orders++;
        }
        if (bucket is not null)
        {
            // Kept as paid and converted when read: converted here, a later change of reporting currency would leave the
            // windows in the old one while the all-time revenue moved (probe57).
            // Still unnamed, the buckets hold no revenue (an older row that did was named as Apply began): the first order's currency.
            behavior.BucketRevenueCurrency ??= SharedText.Of(currency);
            if (currency == behavior.BucketRevenueCurrency)
            {
                bucket.Revenue += total;
            }
            else
            {
                bucket.RevenueByCurrency ??= new Dictionary<string, decimal>(1, StringComparer.Ordinal);
                bucket.RevenueByCurrency[SharedText.Of(currency)!] = bucket.RevenueByCurrency.GetValueOrDefault(currency) + total;
            }
        }

        foreach (var line in purchase.Lines)
        {
            AddAffinity(behavior, line.Category, PurchaseLineWeight, time, options);
        }

        // An order counts once per item, however many lines or units name it (and once per part that names it: the CLI
        // splits an order sorted by product, so only an item whose lines straddle the split is in two parts).
        foreach (var productId in purchase.Lines.Select(line => line.ProductId).Distinct(StringComparer.Ordinal))
        {
            if (RecordItem(behavior, productId, time, options, owns: true) is { } bought)
            {
                bought.Purchases++;
            }
        }
    }

    /// <summary>
    /// Books a refund against the user's revenue in its currency and on its day's bucket, in its currency. Kept apart from
    /// what was paid, so the result does not depend on whether the refund or its order arrived first; when read, only the
    /// part that matches money paid in that currency counts, for the all-time revenue and the windows alike (a refund of an
    /// order from before the history, or in a currency never paid, cannot make a customer owe or take off another
    /// currency's revenue). Orders are not uncounted: the order was placed, and frequency measures that.
    /// </summary>
    private static void RecordRefund(BehaviorState behavior, RefundInfo refund, DateTimeOffset time, ProfileOptions options, int oldestKeptDay)
    {
        var currency = SharedText.Of(refund.Currency.ToUpperInvariant())!;
        var total = refund.Total;
        if (!behavior.MonetaryByCurrency.TryGetValue(currency, out var paid))
        {
            paid = new CurrencyTotal();
            behavior.MonetaryByCurrency[currency] = paid;
        }

        paid.Refunded += total;
        if (DailyBuckets.GetOrAdd(behavior.DailyBuckets, UtcDay.Of(time), oldestKeptDay) is { } bucket)
        {
            bucket.RefundedByCurrency ??= new Dictionary<string, decimal>(1, StringComparer.Ordinal);
            bucket.RefundedByCurrency[currency] = bucket.RefundedByCurrency.GetValueOrDefault(currency) + total;
        }

        foreach (var line in refund.Lines)
        {
            // An item given back was bought once, maybe before the history began (a cancellation in an export that starts
            // after the order): not offered again, as bought items are not. Kept like a forgotten owned item, by hash.
            if (!string.IsNullOrEmpty(line.ProductId)
                && !(behavior.Items.TryGetValue(line.ProductId, out var item) && (item.Purchases > 0 || item.Rating is not null)))
            {
                RememberOwned(behavior, line.ProductId, time, options);
            }
        }
    }

    /// <summary>
    /// The user's stats for <paramref name="productId"/>, created when new, with <see cref="ItemStats.LastAt"/> moved to
    /// <paramref name="time"/> if later. When a new item would take the profile past <see cref="ProfileOptions.MaxItemsRemembered"/>
    /// or <see cref="ProfileOptions.ItemsMaxBytes"/>, the items interacted with longest ago (ties: lowest id) are forgotten
    /// first; an event older than every item it would push out is not recorded, and then nothing is forgotten.
    /// </summary>
    private static ItemStats? RecordItem(BehaviorState behavior, string? productId, DateTimeOffset time, ProfileOptions options, bool owns = false)
    {
        if (string.IsNullOrEmpty(productId))
        {
            return null;
        }

        var items = behavior.Items;
        if (items.TryGetValue(productId, out var stats))
        {
            stats.LastAt = stats.LastAt > time ? stats.LastAt : time;
            return stats;
        }

        // A state kept under an earlier, larger bound holds more hashes than the bound; they are trimmed at the next one kept.
        var ownedKept = Math.Min(behavior.ForgottenOwned?.Count ?? 0, options.MaxForgottenOwned);
        if (ItemsToForget(items, productId, options, (long)ownedKept * ProfileOptions.OwnedHashBytes) is { Count: > 0 } forget)
        {
            if (items[forget[^1]].LastAt > time)
            {
                behavior.ItemsForgotten++; // not recorded: as good as forgotten at once
                if (owns)
                {
                    RememberOwned(behavior, productId, time, options);
                }

                return null;
            }

            foreach (var id in forget)
            {
                if (items[id] is { } old && (old.Purchases > 0 || old.Rating is not null))
                {
                    RememberOwned(behavior, id, old.LastAt, options);
                }

                items.Remove(id);
            }

            behavior.ItemsForgotten += forget.Count;
        }

        stats = new ItemStats { LastAt = time };
        items[productId] = stats;
        return stats;
    }

    /// <summary>
    /// The items to forget, oldest first, so that <paramref name="productId"/> fits in count and in bytes (the budget less
    /// <paramref name="reservedBytes"/>, the forgotten owned items' hashes); null when it fits as they are. Bytes are
    /// counted only from as many items as the longest ids could fill the budget with.
    /// </summary>
    private static List<string>? ItemsToForget(Dictionary<string, ItemStats> items, string productId, ProfileOptions options, long reservedBytes)
    {
        var overCount = items.Count + 1 - options.MaxItemsRemembered;
        var budget = options.ItemsMaxBytes - reservedBytes;
        var countsBytes = items.Count >= budget / (ProfileOptions.AssumedMaxStringBytes + ProfileOptions.ItemOverheadBytes);
        long bytes = 0;
        if (countsBytes)
        {
            bytes = ItemBytes(productId);
            foreach (var id in items.Keys)
            {
                bytes += ItemBytes(id);
            }
        }

        if (overCount <= 0 && bytes <= budget)
        {
            return null;
        }

        var forget = new List<string>();
        foreach (var (id, _) in items.OrderBy(item => item.Value.LastAt).ThenBy(item => item.Key, StringComparer.Ordinal))
        {
            if (forget.Count >= overCount && bytes <= budget)
            {
                break;
            }

            forget.Add(id);
            bytes -= countsBytes ? ItemBytes(id) : 0;
        }

        return forget;
    }

    /// <summary>
    /// Keeps a forgotten item the user bought or rated (or one they returned), by hash, so it is not offered again, in order
    /// of its last use (<paramref name="lastAt"/>, to the second): beyond the bound the items used longest ago go, whatever
    /// order the events arrived in (a ratings file sorted by item, a shuffled export); ties by the order they were kept.
    /// </summary>
    private static void RememberOwned(BehaviorState behavior, string productId, DateTimeOffset lastAt, ProfileOptions options)
    {
        if (options.MaxForgottenOwned == 0)
        {
            return;
        }

        var owned = behavior.ForgottenOwned ??= [];
        var times = OwnedLastUsed(behavior);
        var hash = BehaviorState.OwnedHash(productId);
        var time = (uint)Math.Clamp(lastAt.ToUnixTimeSeconds(), 0, uint.MaxValue);
        var known = owned.IndexOf(hash);
        if (known >= 0)
        {
            if (times[known] >= time)
            {
                return;
            }

            owned.RemoveAt(known); // used again since: moves up to its later time
            times.RemoveAt(known);
        }
        else if (owned.Count >= options.MaxForgottenOwned)
        {
            if (time < times[0])
            {
                return; // used before every item kept: the first to go
            }

            var over = owned.Count - options.MaxForgottenOwned + 1;
            owned.RemoveRange(0, over);
            times.RemoveRange(0, over);
        }

        var at = times.Count;
        while (at > 0 && times[at - 1] > time)
        {
            at--; // events mostly come in time order: the place is usually at or near the end
        }

        owned.Insert(at, hash);
        times.Insert(at, time);
        var bytes = new byte[times.Count * 4];
        for (var i = 0; i < times.Count; i++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i * 4), times[i]);
        }

        behavior.ForgottenOwnedLastUsed = bytes;
    }

    /// <summary>The last-use times of <see cref="BehaviorState.ForgottenOwned"/>; those of a state kept before the times were count as 0.</summary>
    private static List<uint> OwnedLastUsed(BehaviorState behavior)
    {
        var count = behavior.ForgottenOwned?.Count ?? 0;
        var times = new List<uint>(count + 1);
        if (behavior.ForgottenOwnedLastUsed is { } bytes && bytes.Length == count * 4)
        {
            for (var i = 0; i < count; i++)
            {
                times.Add(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i * 4)));
            }
        }
        else
        {
            times.AddRange(Enumerable.Repeat(0u, count));
        }

        return times;
    }

    private static long ItemBytes(string productId) => System.Text.Encoding.UTF8.GetByteCount(productId) + ProfileOptions.ItemOverheadBytes;

    private static long Quantity(ProductInfo? product) => product is null ? 1 : Math.Max(1, product.Quantity);

    /// <summary>Adds one event to the decayed engagement count, valued at the latest event time seen.</summary>
    private static void AddEngagement(BehaviorState behavior, DateTimeOffset time, TimeSpan halfLife)
    {
        if (behavior.EngagementAsOf is not { } asOf || time > asOf)
        {
            var elapsed = behavior.EngagementAsOf is { } previous ? time - previous : TimeSpan.Zero;
            behavior.EngagementScore = behavior.EngagementScore * Decay.Factor(elapsed, halfLife) + 1;
            behavior.EngagementAsOf = time;
        }
        else
        {
            behavior.EngagementScore += Decay.Factor(asOf - time, halfLife);
        }
    }

    /// <summary>
    /// Adds a decayed, weighted interest to a category. All scores share one valuation time (the latest
    /// event time seen), so they compare directly and the weakest can be dropped at the bound.
    /// </summary>
    private static void AddAffinity(BehaviorState behavior, string? category, double weight, DateTimeOffset time, ProfileOptions options)
    {
        if (string.IsNullOrWhiteSpace(category))
        {
            return;
        }

        var halfLife = options.EngagementHalfLife;
        var scores = behavior.CategoryScores;
        if (behavior.CategoryScoresAsOf is not { } asOf || time > asOf)
        {
            if (behavior.CategoryScoresAsOf is { } previous)
            {
                var factor = Decay.Factor(time - previous, halfLife);
                foreach (var key in scores.Keys)
                {
                    scores[key] *= factor;
                }
            }

            behavior.CategoryScoresAsOf = time;
            asOf = time;
        }

        // A score is the plain sum of its contributions, negative ones (removals) included, and is shown only while it is
        // positive (readers filter): a floor at 0 here, or a removal dropped for a category not yet seen, would make the
        // score depend on the order events arrive in (a view and its removal, or a visitor's history merged in later).
        var contribution = weight * Decay.Factor(asOf - time, halfLife);
        if (scores.TryGetValue(category, out var score))
        {
            scores[category] = score + contribution;
            return;
        }

        if (scores.Count >= options.MaxCategories)
        {
            var weakest = scores.MinBy(pair => pair.Value);
            if (weakest.Value >= contribution)
            {
                return;
            }

            scores.Remove(weakest.Key);
        }

        scores[SharedText.Of(category)!] = contribution;
    }

    private static void RecordContext(ContextState context, UserEvent userEvent, DateTimeOffset time)
    {
        var device = userEvent.Context?.Device ?? DeviceType.Unknown;
        context.ChannelMix[userEvent.Source] = context.ChannelMix.GetValueOrDefault(userEvent.Source) + 1;
        context.DeviceMix[device] = context.DeviceMix.GetValueOrDefault(device) + 1;
        if (context.HourOfDay.Length != 24)
        {
            var hours = new long[24];
            Array.Copy(context.HourOfDay, hours, Math.Min(24, context.HourOfDay.Length));
            context.HourOfDay = hours;
        }

        context.HourOfDay[time.UtcDateTime.Hour]++;

        if (userEvent.Source != Channel.Unknown && IsLatest(context.LastChannelAt, time, (int)context.LastChannel, (int)userEvent.Source))
        {
            context.LastChannel = userEvent.Source;
            context.LastChannelAt = time;
        }

        if (userEvent.Context is not { } eventContext)
        {
            return;
        }

        if (device != DeviceType.Unknown && IsLatest(context.LastDeviceAt, time, (int)context.LastDevice, (int)device))
        {
            context.LastDevice = device;
            context.LastDeviceAt = time;
        }

        if (!string.IsNullOrWhiteSpace(eventContext.Country) && IsLatest(context.LastCountryAt, time, context.LastCountry, eventContext.Country.ToUpperInvariant()))
        {
            context.LastCountry = SharedText.Of(eventContext.Country.ToUpperInvariant());
            context.LastCountryAt = time;
        }

        if (!string.IsNullOrWhiteSpace(eventContext.Locale) && IsLatest(context.LastLocaleAt, time, context.LastLocale, eventContext.Locale))
        {
            context.LastLocale = SharedText.Of(eventContext.Locale);
            context.LastLocaleAt = time;
        }

        if (!string.IsNullOrWhiteSpace(eventContext.UserAgent) && Truncate(eventContext.UserAgent, MaxUserAgentLength) is var userAgent
            && IsLatest(context.LastUserAgentAt, time, context.LastUserAgent, userAgent))
        {
            context.LastUserAgent = SharedText.Of(userAgent);
            context.LastUserAgentAt = time;
        }
    }

    private static bool MergeDemographics(DemographicsState demographics, DemographicsUpdate update, DateTimeOffset observedAt, ProfileOptions options)
    {
        var clock = demographics.FieldUpdatedAt;
        var changed = false;
        if (update.BirthYear is { } birthYear && FieldClock.TryClaim(clock, "birthYear", observedAt, demographics.BirthYear is { } year ? birthYear.CompareTo(year) : 1))
        {
            demographics.BirthYear = birthYear;
            changed = true;
        }

        if (update.Gender is { } gender && FieldClock.TryClaim(clock, "gender", observedAt, ((int)gender).CompareTo((int)demographics.Gender)))
        {
            demographics.Gender = gender;
            changed = true;
        }

        if (!string.IsNullOrWhiteSpace(update.Country) && update.Country.Trim().ToUpperInvariant() is var country
            && FieldClock.TryClaim(clock, "country", observedAt, FieldClock.Order(country, demographics.Country)))
        {
            demographics.Country = SharedText.Of(country);
            changed = true;
        }

        if (!string.IsNullOrWhiteSpace(update.Language) && update.Language.Trim().ToLowerInvariant() is var language
            && FieldClock.TryClaim(clock, "language", observedAt, FieldClock.Order(language, demographics.Language)))
        {
            demographics.Language = SharedText.Of(language);
            changed = true;
        }

        if (!string.IsNullOrWhiteSpace(update.City) && update.City.Trim() is var city
            && FieldClock.TryClaim(clock, "city", observedAt, FieldClock.Order(city, demographics.City)))
        {
            demographics.City = SharedText.Of(city);
            changed = true;
        }

        foreach (var (key, value) in update.Traits ?? EmptyTraits)
        {
            if (value.Length == 0)
            {
                // An empty value removes the trait, as an empty preference value does (a profile shows no "" stand-ins);
                // strictly later only, so a value set at the same instant stands whichever arrives first.
                if (FieldClock.IsLater(clock, "traits." + key, observedAt))
                {
                    changed |= demographics.Traits.Remove(key);
                    FieldClock.Remove(clock, "traits." + key, observedAt, demographics.Traits.ContainsKey, "traits.", options.MaxTraits);
                }

                continue;
            }

            var isNewKey = !demographics.Traits.ContainsKey(key);
            if (isNewKey && demographics.Traits.Count >= options.MaxTraits)
            {
                continue;
            }

            if (FieldClock.TryClaim(clock, "traits." + key, observedAt, FieldClock.Order(value, demographics.Traits.GetValueOrDefault(key))))
            {
                demographics.Traits[SharedText.Of(key)!] = value;
                changed = true;
            }
        }

        if (changed)
        {
            demographics.UpdatedAt = Latest(demographics.UpdatedAt, observedAt);
        }

        return changed;
    }

    private static bool MergePreferences(PreferencesState preferences, PreferenceUpdate update, DateTimeOffset observedAt, ProfileOptions options)
    {
        var clock = preferences.FieldUpdatedAt;
        var changed = false;
        if (!string.IsNullOrWhiteSpace(update.Key))
        {
            var field = "values." + update.Key;
            if (update.Value is null)
            {
                // Strictly later: a value set at the same instant stands, whichever arrived first.
                if (FieldClock.IsLater(clock, field, observedAt))
                {
                    changed |= preferences.Values.Remove(update.Key);
                    FieldClock.Remove(clock, field, observedAt, preferences.Values.ContainsKey, "values.", options.MaxPreferences);
                }
            }
            else if ((preferences.Values.ContainsKey(update.Key) || preferences.Values.Count < options.MaxPreferences)
                && FieldClock.TryClaim(clock, field, observedAt, FieldClock.Order(update.Value, preferences.Values.GetValueOrDefault(update.Key))))
            {
                preferences.Values[SharedText.Of(update.Key)!] = update.Value;
                changed = true;
            }
        }

        if (update.EmailOptIn is { } email && FieldClock.TryClaim(clock, "emailOptIn", observedAt, FieldClock.Order(email, preferences.EmailOptIn)))
        {
            preferences.EmailOptIn = email;
            changed = true;
        }

        if (update.SmsOptIn is { } sms && FieldClock.TryClaim(clock, "smsOptIn", observedAt, FieldClock.Order(sms, preferences.SmsOptIn)))
        {
            preferences.SmsOptIn = sms;
            changed = true;
        }

        if (update.PersonalizationOptIn is { } personalization
            && FieldClock.TryClaim(clock, "personalizationOptIn", observedAt, FieldClock.Order(personalization, preferences.PersonalizationOptIn)))
        {
            preferences.PersonalizationOptIn = personalization;
            changed = true;
        }

        if (changed)
        {
            preferences.UpdatedAt = Latest(preferences.UpdatedAt, observedAt);
        }

        return changed;
    }

    // Two events at the same instant (minute-resolution exports, a web and a CRM record of one order) keep the greater
    // value, so the profile is the same whatever order they arrive, replay or merge in.
    private static bool IsLatest(DateTimeOffset? current, DateTimeOffset time, int currentValue, int value) =>
        current is null || time > current || (time == current && value > currentValue);

    private static bool IsLatest(DateTimeOffset? current, DateTimeOffset time, string? currentValue, string value) =>
        current is null || time > current || (time == current && string.CompareOrdinal(value, currentValue) > 0);

    private static DateTimeOffset Earliest(DateTimeOffset? current, DateTimeOffset time) => current is { } c && c <= time ? c : time;

    private static DateTimeOffset Latest(DateTimeOffset? current, DateTimeOffset time) => current is { } c && c >= time ? c : time;

    internal static string Truncate(string value, int maxLength) => value.Length <= maxLength ? value : value[..maxLength];
}
