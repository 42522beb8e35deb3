using System.Globalization;
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
public static class ProfileMapper
{
    public static Profile ToProto(ProfileView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var proto = new Profile
        {
            Tenant = view.Tenant,
            UserId = view.UserId,
            AnonymousIds = { view.AnonymousIds },
            AsOf = Timestamp(view.AsOf),
            EventsApplied = view.EventsApplied,
            Demographics = Demographics(view),
            Behavior = Behavior(view),
            Preferences = Preferences(view.Preferences),
            Context = Context(view.Context),
            Completeness = view.Completeness,
            Dormant = view.Dormant,
        };
        if (view.CreatedAt is { } created)
        {
            proto.CreatedAt = Timestamp(created);
        }

        if (view.UpdatedAt is { } updated)
        {
            proto.UpdatedAt = Timestamp(updated);
        }

        if (view.StalenessDays is { } staleness)
        {
            proto.StalenessDays = staleness;
        }

        return proto;
    }

    private static DemographicsLayer Demographics(ProfileView view)
    {
        var d = view.Demographics;
        var layer = new DemographicsLayer();
        if (view.AgeBand is { } ageBand)
        {
            layer.AgeBand = ageBand;
        }

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
            layer.UpdatedAt = Timestamp(updated);
        }

        foreach (var (key, value) in d.Traits)
        {
            layer.Traits[key] = value;
        }

        return layer;
    }

    private static BehaviorLayer Behavior(ProfileView view)
    {
        var b = view.Behavior;
        var layer = new BehaviorLayer
        {
            Sessions = b.Sessions,
            Orders = b.Orders,
            Monetary = Money(b.Monetary),
            EngagementVelocity = view.EngagementVelocity,
            CartAdds = b.CartAdds,
            CartRemoves = b.CartRemoves,
            Searches = b.Searches,
        };
        if (b.FirstSeen is { } firstSeen)
        {
            layer.FirstSeen = Timestamp(firstSeen);
        }

        if (b.LastSeen is { } lastSeen)
        {
            layer.LastSeen = Timestamp(lastSeen);
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
            layer.FirstPurchaseAt = Timestamp(firstPurchase);
        }

        if (b.LastPurchaseAt is { } lastPurchase)
        {
            layer.LastPurchaseAt = Timestamp(lastPurchase);
        }

        if (view.RecencyDays is { } recency)
        {
            layer.RecencyDays = recency;
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
            layer.Windows.Add(new Contracts.V1.RfmWindow { Window = w.Window, Orders = w.Orders, Revenue = Money(w.Revenue), Events = w.Events, Sessions = w.Sessions });
        }

        var factor = view.AffinityFactor;
        foreach (var a in b.CategoryAffinities)
        {
            layer.CategoryAffinities.Add(new Contracts.V1.CategoryAffinity { Category = a.Category, Score = Math.Round(a.Score * factor, 4) });
        }

        foreach (var a in b.RecentActions)
        {
            var action = new Contracts.V1.RecentAction { EventId = a.EventId, Type = WireNames.Of(a.Type), OccurredAt = Timestamp(a.OccurredAt) };
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
            layer.UpdatedAt = Timestamp(updated);
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

    private static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
