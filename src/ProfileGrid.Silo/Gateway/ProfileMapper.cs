using System.Globalization;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Domain;
using DomainMoney = ProfileGrid.Abstractions.Events.Money;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The protobuf view of a profile, mapped from the same <see cref="ProfileDocument"/> as the JSON view, so derived
/// values (windows, completeness, staleness) are computed in one place.
/// </summary>
public static class ProfileMapper
{
    public static Profile ToProto(UserProfile profile, DateTimeOffset now, ProfileOptions options)
    {
        var document = ProfileJson.ToDocument(profile, options, now);
        var proto = new Profile
        {
            Tenant = document.Tenant,
            UserId = document.UserId,
            AnonymousIds = { document.AnonymousIds },
            CreatedAt = Timestamp(document.CreatedAt),
            UpdatedAt = Timestamp(document.UpdatedAt),
            AsOf = Timestamp(document.AsOf),
            EventsApplied = document.EventsApplied,
            Demographics = Demographics(document.Demographics),
            Behavior = Behavior(document.Behavior),
            Preferences = Preferences(document.Preferences),
            Context = Context(document.Context),
            Completeness = document.Completeness,
            StalenessDays = document.StalenessDays,
            Dormant = document.Dormant,
        };
        return proto;
    }

    private static DemographicsLayer Demographics(DemographicsDocument d) => new()
    {
        AgeBand = d.AgeBand,
        Gender = WireNames.Of(d.Gender),
        Country = d.Country ?? string.Empty,
        Language = d.Language ?? string.Empty,
        City = d.City ?? string.Empty,
        Traits = { d.Traits.ToDictionary() },
        UpdatedAt = Timestamp(d.UpdatedAt),
    };

    private static BehaviorLayer Behavior(BehaviorDocument b)
    {
        var layer = new BehaviorLayer
        {
            FirstSeen = Timestamp(b.FirstSeen),
            LastSeen = Timestamp(b.LastSeen),
            Sessions = b.Sessions,
            AverageSessionMinutes = b.AverageSessionMinutes,
            Orders = b.Orders,
            Monetary = Money(b.Monetary),
            AverageOrderValue = Money(b.AverageOrderValue),
            FirstPurchaseAt = Timestamp(b.FirstPurchaseAt),
            LastPurchaseAt = Timestamp(b.LastPurchaseAt),
            RecencyDays = b.RecencyDays,
            EngagementVelocity = b.EngagementVelocity,
            CartAdds = b.CartAdds,
            CartRemoves = b.CartRemoves,
            Searches = b.Searches,
        };
        layer.EventCounts.Add(b.EventCounts.ToDictionary());
        layer.MonetaryByCurrency.AddRange(b.MonetaryByCurrency.Select(Money));
        layer.Windows.AddRange(b.Windows.Select(w => new Contracts.V1.RfmWindow
        {
            Window = w.Window,
            Orders = w.Orders,
            Revenue = Money(w.Revenue),
            Events = w.Events,
            Sessions = w.Sessions,
        }));
        layer.CategoryAffinities.AddRange(b.CategoryAffinities.Select(a => new Contracts.V1.CategoryAffinity { Category = a.Category, Score = a.Score }));
        layer.RecentActions.AddRange(b.RecentActions.Select(a => new Contracts.V1.RecentAction
        {
            EventId = a.EventId,
            Type = WireNames.Of(a.Type),
            OccurredAt = Timestamp(a.OccurredAt),
            ProductId = a.ProductId ?? string.Empty,
            Category = a.Category ?? string.Empty,
            Detail = a.Detail ?? string.Empty,
        }));
        return layer;
    }

    private static PreferencesLayer Preferences(PreferencesDocument p)
    {
        var layer = new PreferencesLayer { Values = { p.Values.ToDictionary() }, UpdatedAt = Timestamp(p.UpdatedAt) };
        if (p.EmailOptIn is { } email) layer.EmailOptIn = email;
        if (p.SmsOptIn is { } sms) layer.SmsOptIn = sms;
        if (p.PersonalizationOptIn is { } personalization) layer.PersonalizationOptIn = personalization;
        return layer;
    }

    private static ContextLayer Context(ContextDocument c) => new()
    {
        LastDevice = WireNames.Of(c.LastDevice),
        LastChannel = WireNames.Of(c.LastChannel),
        LastCountry = c.LastCountry ?? string.Empty,
        LastLocale = c.LastLocale ?? string.Empty,
        LastUserAgent = c.LastUserAgent ?? string.Empty,
        ChannelMix = { c.ChannelMix.ToDictionary() },
        DeviceMix = { c.DeviceMix.ToDictionary() },
        HourOfDay = { c.HourOfDay },
    };

    private static Contracts.V1.Money Money(DomainMoney money) => new()
    {
        Amount = money.Amount.ToString("0.00##", CultureInfo.InvariantCulture),
        Currency = money.Currency,
    };

    private static string Timestamp(DateTimeOffset? value) =>
        value is { } time ? time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : string.Empty;
}
