using System.Collections.Concurrent;
using Orleans.Streams;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// Segmentation in a two-silo cluster: profiles fed by the events stream push their features to shards, the
/// segmentation grain trains on the shards and publishes, shards assign live.
/// </summary>
[Collection(ClusterCollection.Name)]
public class SegmentationGridTests(ClusterFixture fixture)
{
    private enum Planted { BigSpender, Browser, Lapsed }

    private const int UsersPerType = 30;
    private const int Shards = 4;
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private readonly string _tenant = "seg-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Planted_behaviour_types_become_segments_and_sizes_add_up()
    {
        var planted = await FeedPlantedUsersAsync();

        var run = await Segmentation.RunAsync(new SegmentationRequest { MinK = 2, MaxK = 6, StabilityRuns = 2 });

        Assert.Empty(run.Problems);
        var model = Assert.IsType<SegmentModelView>(run.Model);
        Assert.Equal(3, model.K);
        Assert.Equal(planted.Count, model.TrainedOn);

        var segments = await SegmentsOfAsync(planted.Keys);
        var ari = ClusterMetrics.AdjustedRandIndex(
            planted.Keys.Select(u => (int)planted[u]).ToArray(),
            planted.Keys.Select(u => segments[u]!.SegmentId).ToArray());
        Assert.True(ari >= 0.9, $"ARI between planted types and segments was {ari:F3}");

        var overview = await Segmentation.GetOverviewAsync();
        Assert.Equal(planted.Count, overview.UsersWithFeatures);
        Assert.Equal(0, overview.Unassigned);
        Assert.Equal(planted.Count, overview.Sizes.Values.Sum());
        foreach (var segment in model.Segments)
        {
            Assert.Equal(segments.Values.Count(s => s!.SegmentId == segment.Id), overview.Sizes[segment.Id]);
        }

        var spenders = MajoritySegment(planted, segments, Planted.BigSpender);
        Assert.Equal("high-value", model.Segment(spenders)!.Label);
    }

    [Fact]
    public async Task A_run_records_its_fit_time_on_the_ProfileGrid_meter_tagged_segmentation()
    {
        var planted = await FeedPlantedUsersAsync();
        var recorded = new ConcurrentQueue<(double Seconds, string? Model)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ProfileGridMetrics.MeterName && instrument.Name == "profilegrid.model.training.duration")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "model")
                {
                    recorded.Enqueue((value, tag.Value as string));
                }
            }
        });
        listener.Start();

        var run = await Segmentation.RunAsync(new SegmentationRequest { K = 3, StabilityRuns = 0 });

        Assert.Equal(planted.Count, run.Model!.TrainedOn);
        Assert.Contains(recorded, r => r.Model == ProfileGridMetrics.Models.Segmentation && r.Seconds > 0 && r.Seconds < 60);
    }

    [Fact]
    public async Task A_user_whose_behaviour_changes_moves_segment_without_a_retrain_and_the_move_is_streamed()
    {
        var planted = await FeedPlantedUsersAsync();
        var changes = new ConcurrentQueue<SegmentMembershipChange>();
        var subscription = await fixture.Client.GetStreamProvider(StreamNames.SegmentsProvider)
            .GetStream<SegmentMembershipChanges>(StreamId.Create(StreamNames.SegmentChangesNamespace, _tenant))
            .SubscribeAsync((item, _) =>
            {
                foreach (var change in item.Changes)
                {
                    changes.Enqueue(change);
                }

                return Task.CompletedTask;
            });

        try
        {
            var model = (await Segmentation.RunAsync(new SegmentationRequest { K = 3, StabilityRuns = 0 })).Model!;
            var before = await SegmentsOfAsync(planted.Keys);
            await WaitUntilAsync(() => changes.Count >= planted.Count, "every user's first assignment is streamed");
            Assert.All(changes, c => Assert.Null(c.From));

            var spenders = MajoritySegment(planted, before, Planted.BigSpender);
            var mover = planted.First(p => p.Value == Planted.Browser && before[p.Key]!.SegmentId != spenders).Key;
            var moverFrom = before[mover]!.SegmentId;

            await PublishAsync(mover, BigSpenderEvents(ProfileKey.Parse(mover).UserId, "late"));

            var after = await WaitForSegmentAsync(mover, s => s.SegmentId == spenders);
            Assert.Equal(model.Version, after.ModelVersion);
            Assert.Equal(model.Version, (await Segmentation.GetModelAsync())!.Version);
            await WaitUntilAsync(() => changes.Any(c => c.ProfileKey == mover && c.From == moverFrom && c.To == spenders), "the move is streamed");

            var overview = await Segmentation.GetOverviewAsync();
            Assert.Equal(planted.Count, overview.Sizes.Values.Sum());
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }

    [Fact]
    public async Task A_shard_explains_each_users_segment_with_the_nearest_other_and_the_features_that_decide()
    {
        var stranger = Key("nobody");
        Assert.Equal(SegmentExplanationOutcome.NoModel, (await ShardOf(stranger).ExplainAsync(stranger)).Outcome);

        var planted = await FeedPlantedUsersAsync();
        var model = (await Segmentation.RunAsync(new SegmentationRequest { K = 3, StabilityRuns = 0 })).Model!;
        var segments = await SegmentsOfAsync(planted.Keys);

        foreach (var (user, type) in planted)
        {
            var result = await ShardOf(user).ExplainAsync(user);
            Assert.Equal(SegmentExplanationOutcome.Explained, result.Outcome);
            var explanation = result.Explanation!;
            Assert.Equal(model.Version, explanation.ModelVersion);

            // The segment explained is the one the user is listed in, and the figures are the model's.
            Assert.Equal(segments[user]!.SegmentId, explanation.Segment.SegmentId);
            Assert.Equal(segments[user], explanation.Listed);
            var own = model.Segment(explanation.Segment.SegmentId)!;
            Assert.Equal(own.Label, explanation.Segment.Label);
            var other = model.Segment(explanation.NearestOther!.SegmentId)!;
            Assert.NotEqual(own.Id, other.Id);
            Assert.Equal(other.Label, explanation.NearestOther.Label);
            Assert.True(explanation.Margin > 0, $"{user}: margin {explanation.Margin}");
            Assert.Equal(model.Features, explanation.Features.Select(f => f.Feature));
            Assert.Equal(own.CentroidInOriginalUnits, explanation.Features.Select(f => f.Centroid));
            Assert.Equal(other.CentroidInOriginalUnits, explanation.Features.Select(f => f.NearestOtherCentroid));
            Assert.Equal(own.Centroid, explanation.Features.Select(f => f.CentroidNormalised));
            Assert.Equal(explanation.Segment.Distance * explanation.Segment.Distance, explanation.Features.Sum(f => f.Contribution), 9);
            Assert.Equal(explanation.NearestOther.Distance * explanation.NearestOther.Distance, explanation.Features.Sum(f => f.NearestOtherContribution), 9);

            // No other segment is nearer than the nearest other.
            var third = model.Segments.Where(s => s.Id != own.Id && s.Id != other.Id).Single();
            var normalised = explanation.Features.Select(f => f.Normalised).ToArray();
            var thirdDistance = Math.Sqrt(third.Centroid.Zip(normalised, (c, x) => (c - x) * (c - x)).Sum());
            Assert.True(thirdDistance >= explanation.NearestOther.Distance, $"{user}: segment {third.Id} at {thirdDistance} is nearer than {other.Id}");

            Assert.NotEmpty(explanation.Favouring);
            Assert.All(explanation.Favouring, feature => Assert.Contains(feature, explanation.Summary));
            Assert.StartsWith($"In '{own.Label}' (distance {explanation.Segment.Distance:0.00}) rather than '{other.Label}'", explanation.Summary);
            if (type == Planted.BigSpender && model.Features.Contains("frequency"))
            {
                // Twelve orders, written with their unit, as the profile counted them.
                Assert.Equal(12, explanation.Features.Single(f => f.Feature == "frequency").Value);
            }
        }

        Assert.Equal(SegmentExplanationOutcome.NoFeatures, (await ShardOf(stranger).ExplainAsync(stranger)).Outcome);
    }

    [Fact]
    public async Task A_new_model_keeps_segment_ids_and_labels_of_the_segments_it_matches()
    {
        var planted = await FeedPlantedUsersAsync();
        var first = (await Segmentation.RunAsync(new SegmentationRequest { K = 3, StabilityRuns = 0, Seed = 1 })).Model!;
        var second = (await Segmentation.RunAsync(new SegmentationRequest { K = 3, StabilityRuns = 0, Seed = 7 })).Model!;

        Assert.Equal(first.Version + 1, second.Version);
        Assert.Equal(first.Segments.Select(s => (s.Id, s.Label)), second.Segments.Select(s => (s.Id, s.Label)));
        Assert.Equal(1.0, second.AgreementWithPrevious, 3);
        var segments = await SegmentsOfAsync(planted.Keys);
        Assert.All(segments.Values, s => Assert.Equal(second.Version, s!.ModelVersion));
    }

    [Fact]
    public async Task A_run_with_bad_settings_names_each_problem_and_keeps_the_current_model()
    {
        await FeedPlantedUsersAsync();
        var good = (await Segmentation.RunAsync(new SegmentationRequest { K = 3, StabilityRuns = 0 })).Model!;

        var bad = await Segmentation.RunAsync(new SegmentationRequest { Algorithm = "dbscan", Features = ["recency_days", "shoe_size"] });

        Assert.Null(bad.Model);
        Assert.Contains(bad.Problems, p => p.StartsWith("algorithm:", StringComparison.Ordinal) && p.Contains("dbscan"));
        Assert.Contains(bad.Problems, p => p.StartsWith("features:", StringComparison.Ordinal) && p.Contains("shoe_size"));
        Assert.Equal(good.Version, (await Segmentation.GetModelAsync())!.Version);

        var empty = await fixture.Client.GetGrain<ISegmentationGrain>(_tenant + "-empty").RunAsync(null);
        Assert.Null(empty.Model);
        Assert.Contains(empty.Problems, p => p.Contains("not enough users with features: 0"));
    }

    private ISegmentationGrain Segmentation => fixture.Client.GetGrain<ISegmentationGrain>(_tenant);

    private string Key(string user) => new ProfileKey(_tenant, user).ToString();

    private IFeatureShardGrain ShardOf(string profileKey) =>
        fixture.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(_tenant, SegmentKeys.ShardOf(profileKey, Shards)));

    private static int MajoritySegment(Dictionary<string, Planted> planted, Dictionary<string, UserSegment?> segments, Planted type) =>
        planted.Where(p => p.Value == type).GroupBy(p => segments[p.Key]!.SegmentId).OrderByDescending(g => g.Count()).First().Key;

    /// <summary>Feeds three clearly different behaviour types and waits until every user's vector is in its shard.</summary>
    private async Task<Dictionary<string, Planted>> FeedPlantedUsersAsync()
    {
        var planted = new Dictionary<string, Planted>();
        var feeds = new List<Task>();
        foreach (var type in Enum.GetValues<Planted>())
        {
            for (var i = 0; i < UsersPerType; i++)
            {
                var user = $"{type}-{i}";
                planted[Key(user)] = type;
                var events = type switch
                {
                    Planted.BigSpender => BigSpenderEvents(user, "a", i),
                    Planted.Browser => BrowserEvents(user, i),
                    _ => LapsedEvents(user, i),
                };
                feeds.Add(PublishAsync(Key(user), events));
            }
        }

        await Task.WhenAll(feeds);
        await WaitUntilAsync(async () =>
        {
            var counts = await Task.WhenAll(Enumerable.Range(0, Shards).Select(s =>
                fixture.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(_tenant, s)).CountAsync()));
            return counts.Sum() == planted.Count;
        }, "every profile pushes its features");
        return planted;
    }

    private UserEvent[] BigSpenderEvents(string user, string prefix, int variant = 0) =>
        Enumerable.Range(0, 12).SelectMany(n => new[]
        {
            Event(user, $"{prefix}-v{n}", EventKind.PageView, Now.AddDays(-2 - 5 * n).AddMinutes(variant)),
            Purchase(user, $"{prefix}-p{n}", Now.AddDays(-2 - 5 * n).AddMinutes(variant + 5), 350m + 10 * variant),
        }).ToArray();

    private UserEvent[] BrowserEvents(string user, int variant) =>
        Enumerable.Range(0, 40).Select(n => Event(user, $"b-{n}", EventKind.PageView, Now.AddHours(-3 * n - variant))).ToArray();

    private UserEvent[] LapsedEvents(string user, int variant) =>
    [
        Event(user, "l-1", EventKind.PageView, Now.AddDays(-300 - variant)),
        Purchase(user, "l-2", Now.AddDays(-300 - variant).AddMinutes(3), 20m),
    ];

    private UserEvent Event(string user, string id, EventKind kind, DateTimeOffset at) => new()
    {
        EventId = id,
        Kind = kind,
        Tenant = _tenant,
        UserId = user,
        OccurredAt = at,
        Source = Channel.Web,
        Context = new EventContext { Device = DeviceType.Desktop, Country = "DE" },
        Page = new PageInfo { Url = "/home" },
    };

    private UserEvent Purchase(string user, string id, DateTimeOffset at, decimal price) => new()
    {
        EventId = id,
        Kind = EventKind.Purchase,
        Tenant = _tenant,
        UserId = user,
        OccurredAt = at,
        Source = Channel.App,
        Purchase = new PurchaseInfo
        {
            OrderId = "o-" + id,
            Currency = "USD",
            Lines = [new PurchaseLine { ProductId = "p-1", Category = "shoes", Quantity = 1, UnitPrice = price }],
        },
    };

    private Task PublishAsync(string profileKey, UserEvent[] events) =>
        fixture.Client.GetStreamProvider(StreamNames.EventsProvider)
            .GetStream<EventBatch>(StreamId.Create(StreamNames.UserEventsNamespace, profileKey))
            .OnNextAsync(new EventBatch(events));

    private async Task<Dictionary<string, UserSegment?>> SegmentsOfAsync(IEnumerable<string> profileKeys)
    {
        var keys = profileKeys.ToArray();
        var segments = await Task.WhenAll(keys.Select(k => ShardOf(k).GetSegmentAsync(k)));
        Assert.All(segments, s => Assert.NotNull(s));
        return keys.Zip(segments).ToDictionary(p => p.First, p => p.Second);
    }

    private async Task<UserSegment> WaitForSegmentAsync(string profileKey, Func<UserSegment, bool> condition)
    {
        UserSegment? last = null;
        await WaitUntilAsync(async () =>
        {
            last = await ShardOf(profileKey).GetSegmentAsync(profileKey);
            return last is not null && condition(last);
        }, $"{profileKey} reaches the expected segment (last: {last})");
        return last!;
    }

    private static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("Timed out waiting until " + what);
    }
}
