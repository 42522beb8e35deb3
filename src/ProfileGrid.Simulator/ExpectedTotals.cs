using System.Globalization;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator;

/// <summary>
/// What a correct profile system must report for a stream, recounted straight from the events (no profile logic):
/// per user and overall event counts, purchases, revenue per currency, first and last event times and categories.
/// </summary>
public sealed class ExpectedTotals
{
    private ExpectedTotals(IReadOnlyDictionary<string, UserTotals> users)
    {
        Users = users;
        Events = users.Values.Sum(user => user.Events);
        Purchases = users.Values.Sum(user => user.Purchases);
        CountByType = Merge(users.Values.Select(user => user.CountByType));
        RevenueByCurrency = Merge(users.Values.Select(user => user.RevenueByCurrency));
        FirstEventAt = users.Count == 0 ? null : users.Values.Min(user => user.FirstEventAt);
        LastEventAt = users.Count == 0 ? null : users.Values.Max(user => user.LastEventAt);
    }

    /// <summary>Totals of each user, by user id.</summary>
    public IReadOnlyDictionary<string, UserTotals> Users { get; }

    /// <summary>Number of events.</summary>
    public long Events { get; }

    /// <summary>Number of purchase events (orders).</summary>
    public long Purchases { get; }

    /// <summary>Number of <c>session_start</c> events.</summary>
    public long Sessions => CountOf("session_start");

    /// <summary>Event counts by event type.</summary>
    public IReadOnlyDictionary<string, long> CountByType { get; }

    /// <summary>Sum of quantity times unit price of every purchase line, by ISO 4217 currency.</summary>
    public IReadOnlyDictionary<string, decimal> RevenueByCurrency { get; }

    /// <summary>The earliest event time; null when there are no events.</summary>
    public DateTimeOffset? FirstEventAt { get; }

    /// <summary>The latest event time; null when there are no events.</summary>
    public DateTimeOffset? LastEventAt { get; }

    /// <summary>Number of events of <paramref name="type"/>; zero when there were none.</summary>
    public long CountOf(string type) => CountByType.GetValueOrDefault(type);

    /// <summary>Recounts <paramref name="events"/>, keyed by user id (the anonymous id when the user id is empty).</summary>
    public static ExpectedTotals From(IEnumerable<Event> events)
    {
        var builders = new Dictionary<string, UserTotals.Builder>(StringComparer.Ordinal);
        foreach (var @event in events)
        {
            var userId = string.IsNullOrEmpty(@event.UserId) ? @event.AnonymousId : @event.UserId;
            if (!builders.TryGetValue(userId, out var builder))
            {
                builders.Add(userId, builder = new UserTotals.Builder(userId));
            }

            builder.Add(@event);
        }

        return new ExpectedTotals(builders.ToDictionary(entry => entry.Key, entry => entry.Value.Build(), StringComparer.Ordinal));
    }

    private static IReadOnlyDictionary<string, T> Merge<T>(IEnumerable<IReadOnlyDictionary<string, T>> parts)
        where T : System.Numerics.IAdditionOperators<T, T, T>
    {
        var merged = new SortedDictionary<string, T>(StringComparer.Ordinal);
        foreach (var (key, value) in parts.SelectMany(part => part))
        {
            merged[key] = merged.TryGetValue(key, out var sum) ? sum + value : value;
        }

        return merged;
    }
}

/// <summary>What one user's events add up to.</summary>
public sealed class UserTotals
{
    private UserTotals(
        string userId, long events, IReadOnlyDictionary<string, long> countByType, long purchases,
        IReadOnlyDictionary<string, decimal> revenueByCurrency, DateTimeOffset firstEventAt, DateTimeOffset lastEventAt,
        IReadOnlySet<string> categories)
    {
        UserId = userId;
        Events = events;
        CountByType = countByType;
        Purchases = purchases;
        RevenueByCurrency = revenueByCurrency;
        FirstEventAt = firstEventAt;
        LastEventAt = lastEventAt;
        Categories = categories;
    }

    /// <summary>The user these totals belong to.</summary>
    public string UserId { get; }

    /// <summary>Number of events.</summary>
    public long Events { get; }

    /// <summary>Event counts by event type.</summary>
    public IReadOnlyDictionary<string, long> CountByType { get; }

    /// <summary>Number of purchase events (orders).</summary>
    public long Purchases { get; }

    /// <summary>Number of <c>session_start</c> events.</summary>
    public long Sessions => CountOf("session_start");

    /// <summary>Sum of quantity times unit price of every purchase line, by ISO 4217 currency.</summary>
    public IReadOnlyDictionary<string, decimal> RevenueByCurrency { get; }

    /// <summary>Time of the earliest event.</summary>
    public DateTimeOffset FirstEventAt { get; }

    /// <summary>Time of the latest event.</summary>
    public DateTimeOffset LastEventAt { get; }

    /// <summary>Every product category the user viewed, carted, removed or bought.</summary>
    public IReadOnlySet<string> Categories { get; }

    /// <summary>Number of events of <paramref name="type"/>; zero when there were none.</summary>
    public long CountOf(string type) => CountByType.GetValueOrDefault(type);

    /// <summary>Revenue in <paramref name="currency"/>; zero when the user paid nothing in it.</summary>
    public decimal RevenueIn(string currency) => RevenueByCurrency.GetValueOrDefault(currency);

    internal sealed class Builder(string userId)
    {
        private readonly SortedDictionary<string, long> countByType = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, decimal> revenueByCurrency = new(StringComparer.Ordinal);
        private readonly SortedSet<string> categories = new(StringComparer.Ordinal);
        private long events;
        private long purchases;
        private DateTimeOffset firstEventAt = DateTimeOffset.MaxValue;
        private DateTimeOffset lastEventAt = DateTimeOffset.MinValue;

        public void Add(Event @event)
        {
            events++;
            countByType[@event.Type] = countByType.GetValueOrDefault(@event.Type) + 1;

            var occurredAt = DateTimeOffset.Parse(@event.OccurredAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            if (occurredAt < firstEventAt)
            {
                firstEventAt = occurredAt;
            }

            if (occurredAt > lastEventAt)
            {
                lastEventAt = occurredAt;
            }

            if (@event.Product is { Category.Length: > 0 } product)
            {
                categories.Add(product.Category);
            }

            if (@event.Type == "purchase" && @event.Purchase is { } purchase)
            {
                purchases++;
                var revenue = 0m;
                foreach (var line in purchase.Lines)
                {
                    categories.Add(line.Category);
                    revenue += line.Quantity * decimal.Parse(line.UnitPrice, NumberStyles.Number, CultureInfo.InvariantCulture);
                }

                revenueByCurrency[purchase.Currency] = revenueByCurrency.GetValueOrDefault(purchase.Currency) + revenue;
            }
        }

        public UserTotals Build() => new(
            userId, events, countByType, purchases, revenueByCurrency, firstEventAt, lastEventAt, categories);
    }
}
