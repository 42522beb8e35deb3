using System.Globalization;
using System.Runtime.CompilerServices;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Domain;
using DomainMoney = ProfileGrid.Abstractions.Events.Money;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The protobuf view of a profile, mapped in one step from the grain's <see cref="ProfileView"/>: the derived figures
/// are already in the view (the JSON document is built from the same view), so this only copies and formats. Unknown
/// values stay unset.
/// </summary>
/// <remarks>
/// Most of an answer is the same for every read of one view (the grain caches its view per state version and UTC day):
/// the recent actions, windows, layers and their ~50 formatted timestamps. That part is mapped once per view into a
/// template, kept only as long as the view itself (a <see cref="ConditionalWeakTable{TKey,TValue}"/> keyed on the
/// view's behaviour layer, which <see cref="ProfileView.At"/> copies share), and each read clones the template and sets
/// the figures that depend on the instant. A view that arrives serialized from another silo is a new object each
/// time, so it is mapped afresh, as before.
/// </remarks>
public static class ProfileMapper
{
    private static readonly ConditionalWeakTable<BehaviorView, Template> Templates = [];

    public static Profile ToProto(ProfileView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        if (!Templates.TryGetValue(view.Behavior, out var template) || !template.IsOf(view))
        {
            template = new Template(view.WindowsDay, Stable(view));
            Templates.AddOrUpdate(view.Behavior, template);
        }

        var proto = template.Proto.Clone();
        proto.AsOf = WireTime.Of(view.AsOf);
        proto.Dormant = view.Dormant;
        if (view.StalenessDays is { } staleness)
        {
            proto.StalenessDays = staleness;
        }

        if (view.AgeBand is { } ageBand)
        {
            proto.Demographics.AgeBand = ageBand;
        }

        var behavior = proto.Behavior;
        if (view.EngagementVelocity is { } velocity)
        {
            behavior.EngagementVelocity = velocity;
        }
        if (view.RecencyDays is { } recency)
        {
            behavior.RecencyDays = recency;
        }

        foreach (var a in view.CategoryAffinities())
        {
            behavior.CategoryAffinities.Add(new Contracts.V1.CategoryAffinity { Category = a.Category, Score = a.Score });
        }

        return proto;
    }

    /// <summary>
    /// The instant-independent answer of one view. A behaviour layer is shared by the copies of one view and by nothing
    /// else, so a template found under it is the view's own; the identity, version and day are compared all the same,
    /// so that a view assembled by hand can never be answered with another profile's figures.
    /// </summary>
    private sealed record Template(int WindowsDay, Profile Proto)
    {
        public bool IsOf(ProfileView view) =>
            view.EventsApplied == Proto.EventsApplied && view.WindowsDay == WindowsDay &&
            string.Equals(view.UserId, Proto.UserId, StringComparison.Ordinal) && string.Equals(view.Tenant, Proto.Tenant, StringComparison.Ordinal);
    }

    /// <summary>Everything of the answer that does not depend on the instant of the read.</summary>
    private static Profile Stable(ProfileView view)
    {
        var proto = new Profile
        {
            Tenant = view.Tenant,
            UserId = view.UserId,
            AnonymousIds = { view.AnonymousIds },
            EventsApplied = view.EventsApplied,
            Demographics = Demographics(view.Demographics),
            Behavior = Behavior(view.Behavior),
            Preferences = Preferences(view.Preferences),
            Context = Context(view.Context),
            Feedback = Feedback(view.Feedback),
            Completeness = view.Completeness,
        };
        if (view.CreatedAt is { } created)
        {
            proto.CreatedAt = WireTime.Of(created);
        }

        if (view.UpdatedAt is { } updated)
        {
            proto.UpdatedAt = WireTime.Of(updated);
        }

        return proto;
    }

    private static DemographicsLayer Demographics(DemographicsView d)
    {
        var layer = new DemographicsLayer();
        if (d.Gender is { } gender)
        {
            layer.Gender = WireNames.Of(gender);
        }

        if (d.Country is { } country)
        {
            layer.Country = country;
        }

        if (d.Language is { } language)
        {
            layer.Language = language;
        }

        if (d.City is { } city)
        {
            layer.City = city;
        }

        if (d.UpdatedAt is { } updated)
        {
            layer.UpdatedAt = WireTime.Of(updated);
        }

        foreach (var (key, value) in d.Traits)
        {
            layer.Traits[key] = value;
        }

        return layer;
    }

    private static BehaviorLayer Behavior(BehaviorView b)
    {
        var layer = new BehaviorLayer
        {
            Sessions = b.Sessions,
            Orders = b.Orders,
            Monetary = Money(b.Monetary),
            CartAdds = b.CartAdds,
            CartRemoves = b.CartRemoves,
            Searches = b.Searches,
        };
        if (b.FirstSeen is { } firstSeen)
        {
            layer.FirstSeen = WireTime.Of(firstSeen);
        }

        if (b.LastSeen is { } lastSeen)
        {
            layer.LastSeen = WireTime.Of(lastSeen);
        }

        if (b.AverageSessionMinutes is { } minutes)
        {
            layer.AverageSessionMinutes = minutes;
        }

        if (b.AverageOrderValue is { } averageOrderValue)
        {
            layer.AverageOrderValue = Money(averageOrderValue);
        }

        if (b.FirstPurchaseAt is { } firstPurchase)
        {
            layer.FirstPurchaseAt = WireTime.Of(firstPurchase);
        }

        if (b.LastPurchaseAt is { } lastPurchase)
        {
            layer.LastPurchaseAt = WireTime.Of(lastPurchase);
        }

        foreach (var (kind, count) in b.EventCounts)
        {
            layer.EventCounts[kind] = count;
        }

        foreach (var money in b.MonetaryByCurrency)
        {
            layer.MonetaryByCurrency.Add(Money(money));
        }

        foreach (var w in b.Windows)
        {
            layer.Windows.Add(new Contracts.V1.RfmWindow { Window = w.Window, Orders = w.Orders, Revenue = Money(w.Revenue), Events = w.Events, Sessions = w.Sessions, Partial = w.Partial });
        }

        foreach (var a in b.RecentActions)
        {
            var action = new Contracts.V1.RecentAction { EventId = a.EventId, Type = WireNames.Of(a.Type), OccurredAt = WireTime.Of(a.OccurredAt) };
            if (a.ProductId is { } productId)
            {
                action.ProductId = productId;
            }

            if (a.Category is { } category)
            {
                action.Category = category;
            }

            if (a.Detail is { } detail)
            {
                action.Detail = detail;
            }

            layer.RecentActions.Add(action);
        }

        return layer;
    }

    private static PreferencesLayer Preferences(PreferencesView p)
    {
        var layer = new PreferencesLayer();
        foreach (var (key, value) in p.Values)
        {
            layer.Values[key] = value;
        }

        if (p.EmailOptIn is { } email)
        {
            layer.EmailOptIn = email;
        }

        if (p.SmsOptIn is { } sms)
        {
            layer.SmsOptIn = sms;
        }

        if (p.PersonalizationOptIn is { } personalization)
        {
            layer.PersonalizationOptIn = personalization;
        }

        if (p.UpdatedAt is { } updated)
        {
            layer.UpdatedAt = WireTime.Of(updated);
        }

        return layer;
    }

    private static FeedbackLayer Feedback(FeedbackView f)
    {
        var layer = new FeedbackLayer
        {
            Impressions = f.Impressions,
            ItemsShown = f.ItemsShown,
            Clicks = f.Clicks,
            AttributedCartAdds = f.AttributedCartAdds,
            AttributedPurchases = f.AttributedPurchases,
        };
        if (f.ClickThroughRate is { } rate)
        {
            layer.ClickThroughRate = rate;
        }

        foreach (var money in f.AttributedRevenue)
        {
            layer.AttributedRevenue.Add(Money(money));
        }

        foreach (var ignored in f.MostIgnored)
        {
            layer.MostIgnored.Add(new Contracts.V1.IgnoredItem { ItemId = ignored.ItemId, ShownSinceClick = ignored.ShownSinceClick, LastShownAt = WireTime.Of(ignored.LastShownAt) });
        }

        foreach (var list in f.RecentLists)
        {
            var shown = new Contracts.V1.ShownList { RecommendationId = list.RecommendationId, ItemsShown = list.ItemsShown, Conversions = list.Conversions };
            if (list.Slot is { } slot)
            {
                shown.Slot = slot;
            }

            if (list.ShownAt is { } at)
            {
                shown.ShownAt = WireTime.Of(at);
            }

            foreach (var click in list.Clicks)
            {
                shown.Clicks.Add(new Contracts.V1.ListClick { ItemId = click.ItemId, Position = click.Position, At = WireTime.Of(click.At) });
            }

            layer.RecentLists.Add(shown);
        }

        foreach (var outcome in f.Experiments)
        {
            layer.Experiments.Add(new Contracts.V1.ExperimentOutcome
            {
                ExperimentNumber = outcome.Experiment, VariantIndex = outcome.Variant, FirstExposedAt = WireTime.Of(outcome.FirstExposedAt),
                Impressions = outcome.Impressions, Clicks = outcome.Clicks, CartAdds = outcome.CartAdds, Purchases = outcome.Purchases,
                Revenue = Money(outcome.Revenue),
            });
        }

        return layer;
    }

    private static ContextLayer Context(ContextView c)
    {
        var layer = new ContextLayer { HourOfDay = { c.HourOfDay } };
        if (c.LastDevice is { } device)
        {
            layer.LastDevice = WireNames.Of(device);
        }

        if (c.LastChannel is { } channel)
        {
            layer.LastChannel = WireNames.Of(channel);
        }

        if (c.LastCountry is { } country)
        {
            layer.LastCountry = country;
        }

        if (c.LastLocale is { } locale)
        {
            layer.LastLocale = locale;
        }

        if (c.LastUserAgent is { } userAgent)
        {
            layer.LastUserAgent = userAgent;
        }

        foreach (var (name, count) in c.ChannelMix)
        {
            layer.ChannelMix[name] = count;
        }

        foreach (var (name, count) in c.DeviceMix)
        {
            layer.DeviceMix[name] = count;
        }

        return layer;
    }

    private static Contracts.V1.Money Money(DomainMoney money) => new()
    {
        Amount = money.Amount.ToString("0.00##", CultureInfo.InvariantCulture),
        Currency = money.Currency,
    };
}
