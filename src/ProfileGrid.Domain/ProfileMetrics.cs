using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>Views derived from a profile as of a given time; nothing here is stored.</summary>
public static class ProfileMetrics
{
    public const string AllTime = "all";

    /// <summary>
    /// The schema fields that <see cref="Completeness"/> checks, in order: birth year, gender, country,
    /// language, city, email opt-in answered, SMS opt-in answered, personalization opt-in answered, at least
    /// one explicit preference, last device, last locale, a first purchase, at least one category affinity.
    /// </summary>
    public static IReadOnlyList<string> CompletenessFields { get; } = CompletenessChecks().Select(c => c.Field).ToArray();

    private static readonly (string Field, Func<UserProfile, bool> IsKnown)[] Checks = CompletenessChecks();

    /// <summary>
    /// under_18, 18_24, 25_34, 35_44, 45_54, 55_64, 65_plus, or null when the birth year is missing or
    /// implausible. Age is the difference of calendar years, so it can be one year ahead before the birthday.
    /// </summary>
    public static string? AgeBand(int? birthYear, DateTimeOffset now) => ProfileView.AgeBandOf(birthYear, now);

    /// <summary>Days since the last purchase (fractional, never negative); null when there was none.</summary>
    public static double? RecencyDays(UserProfile profile, DateTimeOffset now) =>
        profile.Behavior.LastPurchaseAt is { } last ? DaysBetween(last, now) : null;

    /// <summary>Days since the last event (fractional, never negative); null when there was none.</summary>
    public static double? StalenessDays(UserProfile profile, DateTimeOffset now) =>
        profile.Behavior.LastSeen is { } last ? DaysBetween(last, now) : null;

    /// <summary>True when the last event is older than <see cref="ProfileOptions.DormantAfter"/>; a profile without events is not dormant.</summary>
    public static bool IsDormant(UserProfile profile, ProfileOptions options, DateTimeOffset now) =>
        profile.Behavior.LastSeen is { } last && now - last > options.DormantAfter;

    /// <summary>Share (0..1) of <see cref="CompletenessFields"/> that are known.</summary>
    public static double Completeness(UserProfile profile) =>
        (double)Checks.Count(check => check.IsKnown(profile)) / Checks.Length;

    /// <summary>The <see cref="CompletenessFields"/> not yet known: what enrichment could ask for next.</summary>
    public static IReadOnlyList<string> MissingFields(UserProfile profile) =>
        Checks.Where(check => !check.IsKnown(profile)).Select(check => check.Field).ToArray();

    /// <summary>All revenue in the reporting currency, converted from the per-currency totals with the configured rates.</summary>
    public static Money Monetary(UserProfile profile, ProfileOptions options)
    {
        var (amount, _) = PricedTotals(profile, options);
        return new Money(RoundMoney(amount), options.ReportingCurrency);
    }

    /// <summary>Revenue per order in the reporting currency, over the orders whose currency has a rate; null without such orders.</summary>
    public static Money? AverageOrderValue(UserProfile profile, ProfileOptions options)
    {
        var (amount, orders) = PricedTotals(profile, options);
        return orders == 0 ? null : new Money(RoundMoney(amount / orders), options.ReportingCurrency);
    }

    /// <summary>Mean session length in minutes; null without sessions.</summary>
    public static double? AverageSessionMinutes(UserProfile profile) =>
        profile.Behavior.Sessions <= 0 ? null : profile.Behavior.TotalSessionDuration.TotalMinutes / profile.Behavior.Sessions;

    /// <summary>"all" and then each configured window, shortest first; windows are UTC days ending with today.</summary>
    /// <remarks>
    /// A window counts the daily buckets from its first day up to and including the day of <paramref name="now"/>, so
    /// for a past <paramref name="now"/> the days after it are left out. Buckets are kept for the longest window back
    /// from the last time the profile changed, so a past window reaching further back than that is partial.
    /// </remarks>
    public static IReadOnlyList<RfmWindow> Windows(UserProfile profile, ProfileOptions options, DateTimeOffset now)
    {
        var behavior = profile.Behavior;
        var windows = new List<RfmWindow>
        {
            // Events of the user's own, as the windows count them: lists shown to them (impressions) are not (probe58).
            new(AllTime, null, behavior.Orders, Monetary(profile, options), ActivityEvents(profile), behavior.Sessions),
        };

        var today = UtcDay.Of(now);
        // A window reaching further back than the kept daily activity misses the days before, if the user had any.
        var keptFrom = behavior.LastSeen is { } lastSeen
            ? DailyBuckets.OldestKeptDay(lastSeen, profile.UpdatedAt, options.LongestWindowDays())
            : int.MinValue;
        var firstSeenDay = behavior.FirstSeen is { } firstSeen ? UtcDay.Of(firstSeen) : int.MaxValue;
        foreach (var days in options.Windows())
        {
            var firstDay = DailyBuckets.FirstDayOfWindow(today, days);
            long orders = 0, events = 0, sessions = 0;
            var legacyRefunded = 0m;
            var byCurrency = new WindowMoney(behavior.BucketRevenueCurrencyOr(options.ReportingCurrency));
            foreach (var bucket in behavior.DailyBuckets)
            {
                if (bucket.Day < firstDay)
                {
                    continue;
                }

                if (bucket.Day > today)
                {
                    break;
                }

                orders += bucket.Orders;
                events += bucket.Events;
                sessions += bucket.Sessions;
                legacyRefunded += bucket.Refunded;
                byCurrency.Add(bucket, behavior);
            }

            var revenue = byCurrency.InReportingCurrency(options) - legacyRefunded;

            // Refunds in the window of orders from before it would make the window's revenue negative: floored at zero, in
            // each currency, so that one currency's refund never takes off another's revenue (probe60). A
            // refund dated before the window stays out of it, even when it outweighs the money paid before the window (an
            // export's cancellation of an order from before its first line): the window shows what was paid and given back
            // in its days, as a pandas sum over them does, and may then show more than the all-time revenue (probe50).
            windows.Add(new RfmWindow(
                $"{days}d", days, orders, new Money(RoundMoney(Math.Max(revenue, 0m)), options.ReportingCurrency), events, sessions,
                // Days are missing when the window and the user's active days before the kept ones overlap.
                Partial: firstSeenDay < keptFrom && firstDay < keptFrom && firstSeenDay <= today));
        }

        return windows;
    }

    /// <summary>
    /// A window's money per currency as paid and as refunded (the share of each refund that matches money paid in its
    /// currency), so that each currency's net is floored at zero before it is converted: a refund in euros of an order
    /// from before the window leaves the window's dollars alone.
    /// </summary>
    private sealed class WindowMoney(string bucketCurrency)
    {
        private decimal _paid, _refunded; // in bucketCurrency, the case of nearly every user
        private Dictionary<string, (decimal Paid, decimal Refunded)>? _others;

        public void Add(DailyBucket bucket, BehaviorState behavior)
        {
            _paid += bucket.Revenue;
            foreach (var (currency, paid) in bucket.RevenueByCurrency ?? [])
            {
                Add(currency, paid, 0m);
            }

            foreach (var (currency, refunded) in bucket.RefundedByCurrency ?? [])
            {
                Add(currency, 0m, refunded * MatchedShare(behavior, currency));
            }
        }

        private void Add(string currency, decimal paid, decimal refunded)
        {
            if (currency == bucketCurrency)
            {
                (_paid, _refunded) = (_paid + paid, _refunded + refunded);
                return;
            }

            _others ??= new Dictionary<string, (decimal, decimal)>(StringComparer.Ordinal);
            var (p, r) = _others.GetValueOrDefault(currency);
            _others[currency] = (p + paid, r + refunded);
        }

        public decimal InReportingCurrency(ProfileOptions options)
        {
            var total = Net(bucketCurrency, _paid, _refunded, options);
            foreach (var (currency, (paid, refunded)) in _others ?? [])
            {
                total += Net(currency, paid, refunded, options);
            }

            return total;
        }

        private static decimal Net(string currency, decimal paid, decimal refunded, ProfileOptions options) =>
            (paid != 0m || refunded != 0m) && options.RateToReporting(currency) is { } rate ? Math.Max(paid - refunded, 0m) * rate : 0m;
    }

    /// <summary>The events applied less the lists shown to the user, which are not the user's activity.</summary>
    public static long ActivityEvents(UserProfile profile) =>
        Math.Max(0, profile.EventsApplied - profile.Behavior.EventCounts.GetValueOrDefault(EventKind.Impression));

    /// <summary>What a day's orders brought in the reporting currency, converted at today's rates; a currency without a rate counts nothing.</summary>
    internal static decimal Revenue(BehaviorState behavior, DailyBucket bucket, ProfileOptions options)
    {
        var revenue = bucket.Revenue != 0m && options.RateToReporting(behavior.BucketRevenueCurrencyOr(options.ReportingCurrency)) is { } rate
            ? bucket.Revenue * rate
            : 0m;
        foreach (var (currency, paid) in bucket.RevenueByCurrency ?? [])
        {
            if (options.RateToReporting(currency) is { } otherRate)
            {
                revenue += paid * otherRate;
            }
        }

        return revenue;
    }

    /// <summary>
    /// The share of the user's refunds in <paramref name="currency"/> that match money they paid in it: all of them while
    /// they are no more than what was paid, none in a currency never paid. The all-time revenue gives back exactly this
    /// much (its net per currency is at least zero), so the windows take off the same share of each refund.
    /// </summary>
    private static decimal MatchedShare(BehaviorState behavior, string currency) =>
        behavior.MonetaryByCurrency.TryGetValue(currency, out var paid) && paid.Refunded > 0m
            ? Math.Min(1m, paid.Amount / paid.Refunded)
            : 0m;

    /// <summary>
    /// Exponentially weighted events per day as of <paramref name="now"/>: a user who has sent r events a day
    /// for several half-lives scores about r, and the score halves every half-life of silence.
    /// </summary>
    public static double EngagementVelocity(UserProfile profile, ProfileOptions options, DateTimeOffset now)
    {
        var behavior = profile.Behavior;
        if (behavior.EngagementAsOf is not { } asOf)
        {
            return 0;
        }

        var halfLife = options.EngagementHalfLife;
        return behavior.EngagementScore * Decay.Factor(now - asOf, halfLife) * Decay.RatePerDay(halfLife);
    }

    /// <summary>
    /// The least score a category is shown with: a view and its removal cancel to a sum within rounding of 0, whose sign
    /// must not depend on the order they were added in.
    /// </summary>
    public const double MinShownAffinity = 1e-9;

    /// <summary>Category affinities valued at <paramref name="now"/>, strongest first (ties by name).</summary>
    public static IReadOnlyList<CategoryAffinity> CategoryAffinities(UserProfile profile, ProfileOptions options, DateTimeOffset now)
    {
        var behavior = profile.Behavior;
        var factor = behavior.CategoryScoresAsOf is { } asOf ? Decay.Factor(now - asOf, options.EngagementHalfLife) : 1d;
        return behavior.CategoryScores
            .Where(pair => pair.Value > MinShownAffinity)
            .Select(pair => new CategoryAffinity(pair.Key, pair.Value * factor))
            .OrderByDescending(affinity => affinity.Score)
            .ThenBy(affinity => affinity.Category, StringComparer.Ordinal)
            .ToArray();
    }

    private static (decimal Amount, long Orders) PricedTotals(UserProfile profile, ProfileOptions options)
    {
        var amount = 0m;
        long orders = 0;
        foreach (var (currency, paid) in profile.Behavior.MonetaryByCurrency)
        {
            if (options.RateToReporting(currency) is { } rate)
            {
                amount += paid.Net * rate;
                orders += paid.Orders;
            }
        }

        return (amount, orders);
    }

    // Half to even, as Python's decimal and round(), numpy and pandas round: 2205.90 / 12 = 183.825 is 183.82, so an
    // analyst's check of a figure in pandas gives the same cent.
    private static decimal RoundMoney(decimal amount) => Math.Round(amount, 2, MidpointRounding.ToEven);

    private static double DaysBetween(DateTimeOffset earlier, DateTimeOffset later) =>
        later <= earlier ? 0 : (later - earlier).TotalDays;

    private static (string Field, Func<UserProfile, bool> IsKnown)[] CompletenessChecks() =>
    [
        ("birth_year", p => p.Demographics.BirthYear is not null),
        ("gender", p => p.Demographics.Gender != Gender.Unknown),
        // Stated, or where the user's events come from: an order export's country column arrives as the events' country,
        // and the fairness audit groups by either.
        ("country", p => !string.IsNullOrEmpty(p.Demographics.Country) || !string.IsNullOrEmpty(p.Context.LastCountry)),
        ("language", p => !string.IsNullOrEmpty(p.Demographics.Language)),
        ("city", p => !string.IsNullOrEmpty(p.Demographics.City)),
        ("email_opt_in", p => p.Preferences.EmailOptIn is not null),
        ("sms_opt_in", p => p.Preferences.SmsOptIn is not null),
        ("personalization_opt_in", p => p.Preferences.PersonalizationOptIn is not null),
        ("preference", p => p.Preferences.Values.Count > 0),
        ("last_device", p => p.Context.LastDevice != DeviceType.Unknown),
        ("last_locale", p => !string.IsNullOrEmpty(p.Context.LastLocale)),
        ("first_purchase", p => p.Behavior.FirstPurchaseAt is not null),
        ("category_affinity", p => p.Behavior.CategoryScores.Values.Any(score => score > MinShownAffinity)),
    ];
}
