using System.Globalization;
using System.Text;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Domain;
using ProfileGrid.Simulator;
using Wire = ProfileGrid.Contracts.V1;

namespace ProfileGrid.Segmentation.Tests;

/// <summary>
/// The demo's stream (seed 42, 3,000 users, five planted types), turned into profiles the way the grid does and
/// segmented with the default settings: does segmentation find the behavior types the simulator planted?
/// </summary>
public sealed class PlantedTypesTests(PlantedStreamFixture planted, ITestOutputHelper output) : IClassFixture<PlantedStreamFixture>
{
    [Fact]
    public void Default_segmentation_recovers_the_planted_types()
    {
        output.WriteLine(planted.ConfusionTable());

        Assert.Equal(5, planted.Model.K);
        Assert.True(planted.AdjustedRandIndex >= 0.9, $"ARI {planted.AdjustedRandIndex:F3} with k = {planted.Model.K}");
    }

    [Theory]
    [InlineData(UserType.HighValue, "high-value")]
    [InlineData(UserType.Dormant, "dormant")]
    [InlineData(UserType.New, "new")]
    [InlineData(UserType.Browser, "browser")]
    [InlineData(UserType.Casual, "casual")]
    public void The_segment_holding_most_users_of_a_type_is_labelled_for_it(UserType type, string label)
    {
        var segment = planted.MembersOf(type).CountBy(s => s).MaxBy(pair => pair.Value).Key;

        Assert.Equal(label, planted.Model.Segments.Single(s => s.Id == segment).Label);
    }

    [Fact]
    public void Default_segmentation_gives_high_value_users_a_segment_of_their_own()
    {
        output.WriteLine(planted.ConfusionTable());
        var highValue = planted.MembersOf(UserType.HighValue);
        var (segment, count) = highValue.CountBy(s => s).MaxBy(pair => pair.Value);
        var size = planted.Segments.Count(s => s == segment);

        Assert.True(count >= 0.95 * highValue.Length, $"segment {segment} holds {count} of {highValue.Length} high-value users");
        Assert.True(count >= 0.75 * size, $"segment {segment} holds {size} users, {count} of them high-value");
    }

    [Fact]
    public void No_new_or_browsing_user_is_put_with_the_high_value_users()
    {
        var highValueSegment = planted.MembersOf(UserType.HighValue).CountBy(s => s).MaxBy(pair => pair.Value).Key;

        Assert.DoesNotContain(highValueSegment, planted.MembersOf(UserType.New));
        Assert.True(planted.MembersOf(UserType.Browser).Count(s => s == highValueSegment) <= 0.1 * planted.MembersOf(UserType.Browser).Length);
    }
}

/// <summary>Builds the demo stream's profiles and the default segmentation once for the tests above (about 10 s).</summary>
public sealed class PlantedStreamFixture
{
    private static readonly DateTimeOffset StreamEnd = new(2026, 11, 28, 0, 0, 0, TimeSpan.Zero);

    public PlantedStreamFixture()
    {
        // The demo's options (DemoSettings: 3,000 users, seed 42, tenant "demo"), with the end of history pinned so the
        // result does not depend on the day the test runs.
        var stream = new SyntheticStream(new SimulationOptions { Users = 3000, Seed = 42, Tenant = "demo", AsOf = StreamEnd });
        // The default options, as the demo's grid uses them: every currency the stream uses has a rate.
        var options = new ProfileOptions();

        var eventsByProfile = new Dictionary<string, List<UserEvent>>(StringComparer.Ordinal);
        var lastEvent = DateTimeOffset.MinValue;
        foreach (var wire in stream.Events())
        {
            var userEvent = ToUserEvent(wire, stream.Options.Tenant);
            if (!eventsByProfile.TryGetValue(userEvent.UserId, out var events))
            {
                eventsByProfile[userEvent.UserId] = events = [];
            }

            events.Add(userEvent);
            lastEvent = userEvent.OccurredAt > lastEvent ? userEvent.OccurredAt : lastEvent;
        }

        // The demo reads the profiles right after the replay: as of the last event.
        var rows = new double[stream.Users.Count][];
        Types = new UserType[stream.Users.Count];
        for (var i = 0; i < stream.Users.Count; i++)
        {
            var user = stream.Users[i];
            var profile = new UserProfile { Tenant = stream.Options.Tenant, UserId = user.UserId };
            foreach (var batch in eventsByProfile[user.UserId].Chunk(500))
            {
                ProfileUpdater.Apply(profile, batch, options, lastEvent);
            }

            rows[i] = ProfileFeatures.Extract(profile, options, lastEvent);
            Types[i] = user.Type;
        }

        var heavyTailed = ProfileFeatures.All.Select(ProfileFeatures.IsHeavyTailed).ToArray();
        Model = SegmentationTrainer.Train(
            new TrainingSet(ProfileFeatures.All, heavyTailed, rows, rows.Length), new SegmentationSettings(), previous: null, version: 1, lastEvent);
        Segments = rows.Select(Model.Assign).ToArray();
        AdjustedRandIndex = ClusterMetrics.AdjustedRandIndex(Types.Select(t => (int)t).ToArray(), Segments);
    }

    public UserType[] Types { get; }

    public SegmentModel Model { get; }

    /// <summary>The segment id of each user, in user order.</summary>
    public int[] Segments { get; }

    public double AdjustedRandIndex { get; }

    public int[] MembersOf(UserType type) => Segments.Where((_, i) => Types[i] == type).ToArray();

    public string ConfusionTable()
    {
        var segments = Model.Segments.OrderBy(s => s.Id).ToArray();
        var table = new StringBuilder($"ARI {AdjustedRandIndex:F3}, k = {Model.K}: {Model.KReason}\n");
        table.AppendJoin("\n", Model.Warnings).Append('\n');
        table.AppendJoin("\n", Model.Curve.Select(p => $"k={p.K} inertia={p.Inertia:F1} sil={p.Silhouette:F3} ch={p.CalinskiHarabasz:F1} db={p.DaviesBouldin:F3}")).Append('\n');
        table.AppendJoin("\n", Model.Segments.Select(s => $"{s.Id} {s.Label}: {s.Description}")).Append('\n');
        table.Append("planted".PadRight(10)).AppendJoin("", segments.Select(s => $"{s.Id}:{s.Label}".PadLeft(14))).Append('\n');
        foreach (var type in Enum.GetValues<UserType>())
        {
            table.Append(type.ToString().PadRight(10))
                .AppendJoin("", segments.Select(s => Segments.Where((id, i) => id == s.Id && Types[i] == type).Count().ToString(CultureInfo.InvariantCulture).PadLeft(14)))
                .Append('\n');
        }

        return table.ToString();
    }

    /// <summary>
    /// The gateway's mapping of a simulator event to a domain event, reduced to what profiles keep (EventValidator in
    /// the silo; the simulator's events are all valid). Events without a user id go to the "anon:" profile, as there.
    /// </summary>
    private static UserEvent ToUserEvent(Wire.Event wire, string tenant)
    {
        var userEvent = new UserEvent
        {
            EventId = wire.EventId,
            Kind = wire.Type switch
            {
                "page_view" => EventKind.PageView,
                "product_view" => EventKind.ProductView,
                "search" => EventKind.Search,
                "add_to_cart" => EventKind.AddToCart,
                "remove_from_cart" => EventKind.RemoveFromCart,
                "purchase" => EventKind.Purchase,
                "session_start" => EventKind.SessionStart,
                "identify" => EventKind.Identify,
                "preference_set" => EventKind.PreferenceSet,
                "custom" => EventKind.Custom,
                _ => throw new ArgumentException($"Unknown event type '{wire.Type}'.", nameof(wire)),
            },
            Tenant = tenant,
            UserId = string.IsNullOrEmpty(wire.UserId) ? "anon:" + wire.AnonymousId : wire.UserId,
            AnonymousId = string.IsNullOrEmpty(wire.AnonymousId) ? null : wire.AnonymousId,
            OccurredAt = DateTimeOffset.Parse(wire.OccurredAt, CultureInfo.InvariantCulture),
            Source = wire.Source switch { "web" => Channel.Web, "app" => Channel.App, "crm" => Channel.Crm, _ => Channel.Unknown },
            Context = wire.Context is null ? null : new EventContext { SessionId = wire.Context.SessionId },
        };

        return userEvent.Kind switch
        {
            EventKind.ProductView or EventKind.AddToCart or EventKind.RemoveFromCart => userEvent with
            {
                Product = new ProductInfo
                {
                    ProductId = wire.Product.ProductId,
                    Category = Category(wire.Product.Category),
                    Quantity = wire.Product.Quantity == 0 ? 1 : wire.Product.Quantity,
                    UnitPrice = string.IsNullOrEmpty(wire.Product.UnitPrice)
                        ? null
                        : new Money(decimal.Parse(wire.Product.UnitPrice, CultureInfo.InvariantCulture), wire.Product.Currency),
                },
            },
            EventKind.Purchase => userEvent with
            {
                Purchase = new PurchaseInfo
                {
                    OrderId = wire.Purchase.OrderId,
                    Currency = wire.Purchase.Currency,
                    Lines = wire.Purchase.Lines.Select(line => new PurchaseLine
                    {
                        ProductId = line.ProductId,
                        Category = Category(line.Category),
                        Quantity = line.Quantity,
                        UnitPrice = decimal.Parse(line.UnitPrice, CultureInfo.InvariantCulture),
                    }).ToList(),
                },
            },
            EventKind.Search => userEvent with { Search = new SearchInfo { Query = wire.Search.Query, ResultCount = wire.Search.ResultCount } },
            _ => userEvent,
        };
    }

    private static string? Category(string category) =>
        string.IsNullOrWhiteSpace(category) ? null : category.Trim().ToLowerInvariant();
}
