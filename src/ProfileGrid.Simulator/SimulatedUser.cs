namespace ProfileGrid.Simulator;

/// <summary>
/// One simulated user and the facts planted for them; the events are generated from these.
/// </summary>
/// <param name="UserId">Stable id, e.g. <c>u-000123</c>.</param>
/// <param name="Type">The planted behavior type.</param>
/// <param name="Country">ISO 3166-1 alpha-2 code.</param>
/// <param name="City">Home city, also sent by the CRM.</param>
/// <param name="Locale">BCP 47 locale, e.g. <c>de-CH</c>.</param>
/// <param name="Language">ISO 639-1 code of the locale.</param>
/// <param name="Currency">ISO 4217 code of every purchase and price the user sees.</param>
/// <param name="PreferredSource">The channel of most sessions: <c>web</c> or <c>app</c>.</param>
/// <param name="PreferredDevice">The device of most sessions: <c>desktop</c>, <c>mobile</c> or <c>tablet</c>.</param>
/// <param name="FavoriteCategories">Categories the user browses and buys most.</param>
public sealed record SimulatedUser(
    string UserId,
    UserType Type,
    string Country,
    string City,
    string Locale,
    string Language,
    string Currency,
    string PreferredSource,
    string PreferredDevice,
    IReadOnlyList<string> FavoriteCategories)
{
    internal static readonly IReadOnlySet<string> NoPreferredItems = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// The hidden taste group (0 to <see cref="SimulationOptions.TasteGroups"/> - 1) whose products the user mostly
    /// views and buys; null when the stream has no taste groups.
    /// </summary>
    public int? TasteGroup { get; init; }

    /// <summary>
    /// The ground truth of item preference: the product ids of the user's taste group, in every category (about one in
    /// <see cref="SimulationOptions.TasteGroups"/> products), shared by every user of the group. Most of the products
    /// the user touches are in it; a recommender that learned the planted structure ranks the rest of it high, including
    /// products of categories the user has not visited yet. Empty when the stream has no taste groups.
    /// </summary>
    public IReadOnlySet<string> PreferredItems { get; init; } = NoPreferredItems;
}
