using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator;

/// <summary>
/// A seeded, reproducible stream of e-commerce events: web and app sessions and CRM contact records for a
/// population of users with planted behavior types. Equal <see cref="SimulationOptions"/> give an identical stream.
/// </summary>
/// <remarks>
/// Sessions are generated lazily while they are enumerated, so a large stream can be replayed without holding it in
/// memory; each enumeration generates it again, the same way.
/// </remarks>
public sealed class SyntheticStream
{
    private readonly IReadOnlyList<Persona> personas;

    /// <summary>Plans the users of the stream; events are generated when <see cref="Sessions"/> is enumerated.</summary>
    public SyntheticStream(SimulationOptions? options = null)
    {
        Options = options ?? new SimulationOptions();
        Options.Validate();
        Catalog = new ProductCatalog(Options.Seed);
        personas = Enumerable.Range(0, Options.Users)
            .Select(index => PersonaFactory.Create(Options, Catalog, index))
            .ToList();
        Users = personas.Select(persona => persona.User).ToList();
    }

    /// <summary>The options the stream was generated from.</summary>
    public SimulationOptions Options { get; }

    /// <summary>The users, in id order, with their planted type: the ground truth for segmentation tests.</summary>
    public IReadOnlyList<SimulatedUser> Users { get; }

    /// <summary>The products the users browse and buy.</summary>
    public ProductCatalog Catalog { get; }

    /// <summary>
    /// Every session and CRM record of every user, ordered by start time (ties by user id), each user's events in
    /// time order and with ids <c>evt-{userId}-{n}</c> numbered in that order.
    /// </summary>
    public IEnumerable<UserSession> Sessions()
    {
        // A k-way merge of the users' own time-ordered timelines: only one pending session per user is held.
        var pending = new PriorityQueue<IEnumerator<UserSession>, (DateTimeOffset StartedAt, int UserIndex)>(personas.Count);
        try
        {
            foreach (var persona in personas)
            {
                var timeline = UserTimeline.Generate(persona, Catalog, Options).GetEnumerator();
                if (timeline.MoveNext())
                {
                    pending.Enqueue(timeline, (timeline.Current.StartedAt, persona.Index));
                }
                else
                {
                    timeline.Dispose();
                }
            }

            while (pending.TryDequeue(out var timeline, out var key))
            {
                yield return timeline.Current;
                if (timeline.MoveNext())
                {
                    pending.Enqueue(timeline, (timeline.Current.StartedAt, key.UserIndex));
                }
                else
                {
                    timeline.Dispose();
                }
            }
        }
        finally
        {
            while (pending.TryDequeue(out var timeline, out _))
            {
                timeline.Dispose();
            }
        }
    }

    /// <summary>
    /// The sessions and CRM records of the user at <paramref name="index"/> (zero-based) alone, in time order: the same
    /// sessions and events <see cref="Sessions"/> yields for that user, without planning the other users (a million users'
    /// plans held at once take hundreds of MB). For replaying the histories of many users one at a time.
    /// </summary>
    public static IEnumerable<UserSession> SessionsOfUser(SimulationOptions options, ProductCatalog catalog, int index)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        options.Validate();
        return UserTimeline.Generate(PersonaFactory.Create(options, catalog, index), catalog, options);
    }

    /// <summary>All events, session after session.</summary>
    public IEnumerable<Event> Events() => Sessions().SelectMany(session => session.Events);

    /// <summary>
    /// The stream as ingest requests of at most <paramref name="maxEventsPerRequest"/> events for
    /// <see cref="SimulationOptions.Tenant"/>, whole sessions kept together: what a load generator sends.
    /// </summary>
    public IEnumerable<IngestEventsRequest> IngestRequests(int maxEventsPerRequest = IngestBatcher.DefaultMaxEventsPerRequest) =>
        IngestBatcher.Pack(Sessions(), Options.Tenant, maxEventsPerRequest);

    /// <summary>
    /// What each user did with each product, recounted from the generated events (<see cref="SimulatedInteractions.From"/>):
    /// training data for recommenders, to be checked against <see cref="SimulatedUser.PreferredItems"/>.
    /// </summary>
    public IReadOnlyList<ProfileGrid.Recommendations.UserInteractions> Interactions() => SimulatedInteractions.From(Events());

    /// <summary>Recounts the generated events into the totals a correct profile system must reproduce.</summary>
    public ExpectedTotals ComputeExpectedTotals() => ExpectedTotals.From(Events());
}
