using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Domain;
using ProfileGrid.Silo.Gateway;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The proto answer is mapped once per view and reused for later reads of the same view: a reused answer must equal a
/// fresh mapping at every instant, and must never carry one read's instant-dependent figures into another.
/// </summary>
public class ProfileMapperTests
{
    private static readonly DateTimeOffset Morning = new(2026, 3, 10, 8, 0, 0, TimeSpan.Zero);
    private static readonly ProfileOptions Options = new();

    private static UserEvent Event(EventKind kind, DateTimeOffset at, string id, string user = "ann") => new()
    {
        EventId = id, Kind = kind, Tenant = "shop", UserId = user, OccurredAt = at, Source = Channel.Web,
    };

    private static ProfileView ViewOf(string user, DateTimeOffset asOf)
    {
        var profile = new UserProfile { Tenant = "shop", UserId = user };
        var purchase = Event(EventKind.Purchase, Morning.AddDays(-3), $"{user}-1", user) with
        {
            Purchase = new PurchaseInfo
            {
                OrderId = $"{user}-o1", Currency = "USD",
                Lines = [new PurchaseLine { ProductId = "p-1", Category = "shoes", UnitPrice = 42.5m, Quantity = 2 }],
            },
        };
        var view = Event(EventKind.ProductView, Morning.AddHours(-5), $"{user}-2", user) with
        {
            Product = new ProductInfo { ProductId = "p-2", Category = "bags" },
        };
        ProfileUpdater.Apply(profile, [purchase, view], Options, Morning);
        ProfileUpdater.ApplyAttributes(profile, new DemographicsUpdate { BirthYear = 1990, City = "Lyon" }, Morning, Options);
        return ProfileViews.Build(profile, Options, asOf);
    }

    /// <summary>A copy of the view with its own behaviour layer: nothing cached applies to it.</summary>
    private static ProfileView Fresh(ProfileView view) => view with { Behavior = view.Behavior with { } };

    [Fact]
    public void Reads_of_one_view_at_different_instants_equal_fresh_mappings_and_do_not_accumulate()
    {
        var view = ViewOf("ann", Morning);
        var instants = new[] { Morning, Morning.AddHours(6), Morning.AddMinutes(1), Morning.AddHours(15).AddMinutes(59) };

        foreach (var instant in instants.Concat(instants))
        {
            var reused = ProfileMapper.ToProto(view.At(instant));
            Assert.Equal(ProfileMapper.ToProto(Fresh(view.At(instant))), reused);
            Assert.Equal(Fresh(view.At(instant)).RecencyDays, reused.Behavior.RecencyDays);
            Assert.Equal(view.Behavior.CategoryAffinities.Length, reused.Behavior.CategoryAffinities.Count);
        }
    }

    [Fact]
    public void An_answer_changed_by_its_caller_does_not_change_the_next_answer()
    {
        var view = ViewOf("bob", Morning);
        var first = ProfileMapper.ToProto(view);
        first.Behavior.RecentActions.Clear();
        first.Demographics.City = "elsewhere";
        first.Segment = new Contracts.V1.SegmentMembership { SegmentId = 3 };

        var second = ProfileMapper.ToProto(view);

        Assert.Equal(ProfileMapper.ToProto(Fresh(view)), second);
        Assert.Equal("Lyon", second.Demographics.City);
        Assert.Null(second.Segment);
        Assert.NotEmpty(second.Behavior.RecentActions);
    }

    [Fact]
    public void A_view_assembled_with_another_users_identity_is_not_answered_from_the_first_users_template()
    {
        var ann = ViewOf("ann", Morning);
        _ = ProfileMapper.ToProto(ann);
        var impostor = ann with { UserId = "carl", EventsApplied = ann.EventsApplied + 1 };

        var answer = ProfileMapper.ToProto(impostor);

        Assert.Equal("carl", answer.UserId);
        Assert.Equal(impostor.EventsApplied, answer.EventsApplied);
        Assert.Equal("ann", ProfileMapper.ToProto(ann).UserId);
    }
}
