using System.Collections.Frozen;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The ISO code lists the gateway validates against: the recommender library's, which experiment targeting and catalog
/// items are checked against too.
/// </summary>
public static class IsoCodes
{
    /// <summary>ISO 3166-1 alpha-2, the 249 officially assigned codes.</summary>
    public static readonly FrozenSet<string> Countries = ProfileGrid.Recommendations.Catalog.IsoRegions.Countries;

    /// <summary>ISO 4217 active currency codes: the recommender library's list, so that events and catalog items agree.</summary>
    public static readonly FrozenSet<string> Currencies = ProfileGrid.Recommendations.Catalog.Iso4217.Currencies;

    /// <summary>ISO 639-1 two-letter language codes.</summary>
    public static readonly FrozenSet<string> Languages = ProfileGrid.Recommendations.Catalog.IsoRegions.Languages;
}
