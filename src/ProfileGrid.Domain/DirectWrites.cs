using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>
/// Attributes and preferences written directly (a CRM upsert, the preference centre) are not events, so a profile rebuilt
/// from its events (a merge's unmerge, a backfill) would lose them. The profile grain keeps them apart, with their field
/// times, and lays them over the rebuilt profile: each field takes whichever is later, the event's or the direct write's.
/// </summary>
public static class DirectWrites
{
    /// <summary>A copy of the demographics and preferences layers (for profiles stored before direct writes were kept apart).</summary>
    public static UserProfile LayersOf(UserProfile profile)
    {
        var copy = new UserProfile();
        Overlay(copy, profile, new ProfileOptions { MaxTraits = int.MaxValue, MaxPreferences = int.MaxValue });
        return copy;
    }

    /// <summary>Lays <paramref name="direct"/>'s demographics and preferences over <paramref name="target"/>, field by field, later time wins.</summary>
    public static void Overlay(UserProfile target, UserProfile direct, ProfileOptions options)
    {
        var (created, updated) = (target.CreatedAt, target.UpdatedAt);
        var d = direct.Demographics;
        foreach (var (field, at) in d.FieldUpdatedAt)
        {
            DemographicsUpdate? update = field switch
            {
                "birthYear" => new() { BirthYear = d.BirthYear },
                "gender" => new() { Gender = d.Gender },
                "country" => new() { Country = d.Country },
                "language" => new() { Language = d.Language },
                "city" => new() { City = d.City },
                // A trait's time without a value is its removal (an empty value), laid over as such.
                _ when field.StartsWith("traits.", StringComparison.Ordinal) =>
                    new() { Traits = new Dictionary<string, string> { [field[7..]] = d.Traits.GetValueOrDefault(field[7..], "") } },
                _ => null,
            };
            if (update is not null)
            {
                ProfileUpdater.ApplyAttributes(target, update, at, options);
            }
        }

        var p = direct.Preferences;
        foreach (var (field, at) in p.FieldUpdatedAt)
        {
            PreferenceUpdate? update = field switch
            {
                "emailOptIn" => new() { EmailOptIn = p.EmailOptIn },
                "smsOptIn" => new() { SmsOptIn = p.SmsOptIn },
                "personalizationOptIn" => new() { PersonalizationOptIn = p.PersonalizationOptIn },
                _ when field.StartsWith("values.", StringComparison.Ordinal) =>
                    new() { Key = field[7..], Value = p.Values.GetValueOrDefault(field[7..]) },
                _ => null,
            };
            if (update is not null)
            {
                ProfileUpdater.ApplyPreferences(target, update, at, options);
            }
        }

        // The field times are the writes' own; the profile's processing times stay as they were.
        (target.CreatedAt, target.UpdatedAt) = (created == default ? target.CreatedAt : created, updated > target.UpdatedAt ? updated : target.UpdatedAt);
    }
}
