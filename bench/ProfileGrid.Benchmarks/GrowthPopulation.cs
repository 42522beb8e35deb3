using System.Globalization;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// N users built from sessions of the demo mix re-keyed to them, without the simulator's 240-day histories (a million
/// users of those would be about 90 million events). Every session is a web or app session of 3 to 8 events taken
/// from the simulator's stream; re-keying gives it the user's id and unique event, session and order ids, and moves
/// its times (the gaps between its events kept).
/// </summary>
public sealed class GrowthPopulation
{
    public const string Tenant = "growth";

    private const int TemplateUsers = 300;
    private const int MinSessionEvents = 3;
    private const int MaxSessionEvents = 8;
    private static readonly TimeSpan PopulateSpan = TimeSpan.FromDays(29);
    private static readonly TimeSpan MeasuredSpan = TimeSpan.FromHours(22);

    private readonly IReadOnlyList<UserSession> _templates;
    private readonly int _seed;
    private readonly DateTimeOffset _now;

    public GrowthPopulation(int users, int seed, DateTimeOffset now)
    {
        Users = users;
        _seed = seed;
        _now = now;
        var stream = new SyntheticStream(new SimulationOptions { Users = TemplateUsers, Seed = seed, Tenant = Tenant });
        _templates = stream.Sessions()
            .Where(s => s.Source != "crm" && s.Events.Count is >= MinSessionEvents and <= MaxSessionEvents)
            .ToList();
        UserIds = Enumerable.Range(0, users).Select(UserId).ToArray();
    }

    public int Users { get; }

    /// <summary>Events of all populate sessions, without generating them: the template mean times the users (for progress only).</summary>
    public long PopulateEvents => (long)(_templates.Average(s => s.Events.Count) * Users);

    /// <summary>u0000000, u0000001, ...: index order is id order.</summary>
    public IReadOnlyList<string> UserIds { get; }

    /// <summary>How many template sessions there are, their mean length and the share that end in a purchase.</summary>
    public string DescribeTemplates() =>
        $"{_templates.Count:N0} template sessions of {MinSessionEvents} to {MaxSessionEvents} events (mean {_templates.Average(s => s.Events.Count):F1}; " +
        $"{_templates.Count(s => s.Events.Any(e => e.Type == "purchase")) / (double)_templates.Count:P0} end in a purchase, " +
        $"{_templates.Count(s => s.Events.Any(e => e.Type == "add_to_cart")) / (double)_templates.Count:P0} put something in the cart) " +
        $"from the simulator's stream of {TemplateUsers} users, seed {_seed}";

    public static string UserId(int index) => $"u{index:D7}";

    /// <summary>
    /// The one session that makes user <paramref name="index"/> resident: the same every time (for the exactly-once
    /// check), its start in the 30 days before now, later for later users.
    /// </summary>
    public UserSession PopulateSession(int index)
    {
        var random = new Random(unchecked((_seed * 1_000_003) + index));
        var start = _now - TimeSpan.FromDays(30) + (PopulateSpan * ((double)index / Users)); // not Span * index: 29 days of ticks times 370k passes long.MaxValue
        return Rekey(_templates[random.Next(_templates.Count)], index, "p", start);
    }

    /// <summary>Every user's populate session, in user order, packed into requests (lazily: a million users' sessions are not held).</summary>
    public IEnumerable<IngestEventsRequest> PopulateRequests(int batch) =>
        IngestBatcher.Pack(Enumerable.Range(0, Users).Select(PopulateSession), Tenant, batch);

    /// <summary>
    /// Sessions of users drawn uniformly from the N until <paramref name="events"/> events are reached (the last one
    /// whole), in time order over the last day; ids of measured session k carry "m{k}", apart from the populate ids.
    /// </summary>
    public IReadOnlyList<UserSession> MeasuredSessions(int events)
    {
        var random = new Random(_seed);
        var sessions = new List<(int User, UserSession Template)>();
        for (var total = 0; total < events;)
        {
            var template = _templates[random.Next(_templates.Count)];
            sessions.Add((random.Next(Users), template));
            total += template.Events.Count;
        }

        var first = _now - TimeSpan.FromHours(26);
        return sessions
            .Select((s, k) => Rekey(s.Template, s.User, $"m{k}", first + (MeasuredSpan * ((double)k / sessions.Count))))
            .ToList();
    }

    /// <summary><paramref name="count"/> distinct users drawn uniformly (all of them when there are fewer).</summary>
    public IReadOnlyList<int> SampleUsers(int count)
    {
        if (count >= Users)
        {
            return Enumerable.Range(0, Users).ToList();
        }

        var random = new Random(_seed + 1);
        var sample = new HashSet<int>();
        while (sample.Count < count)
        {
            sample.Add(random.Next(Users));
        }

        return sample.Order().ToList();
    }

    private UserSession Rekey(UserSession template, int index, string tag, DateTimeOffset start)
    {
        var userId = UserId(index);
        var shift = start - template.StartedAt;
        var sessionId = $"s-{userId}-{tag}";
        var events = new List<Event>(template.Events.Count);
        foreach (var original in template.Events)
        {
            var e = original.Clone();
            e.EventId = $"evt-{userId}-{tag}-{events.Count + 1}";
            e.UserId = userId;

            // A first web visit carries the simulator user's anonymous id: shared by every re-keyed copy, it would stitch them together.
            e.AnonymousId = string.Empty;
            e.Context.SessionId = sessionId;
            var occurredAt = DateTimeOffset.Parse(original.OccurredAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) + shift;
            e.OccurredAt = occurredAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            if (e.Purchase is { } purchase)
            {
                purchase.OrderId = $"o-{userId}-{tag}";
            }

            events.Add(e);
        }

        return new UserSession(userId, template.UserType, template.Source, sessionId, start, events);
    }
}
