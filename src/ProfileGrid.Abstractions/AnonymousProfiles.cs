namespace ProfileGrid.Abstractions;

/// <summary>
/// An anonymous visitor's profile is the user id <c>"anon:" + the anonymous id</c>: one rule for the gateway, the grains
/// and the privacy paths, so that they never disagree on who is a visitor.
/// </summary>
public static class AnonymousProfiles
{
    public const string Prefix = "anon:";

    /// <summary>True for the user id of a visitor's profile.</summary>
    public static bool IsAnonymous(string userId) => userId.StartsWith(Prefix, StringComparison.Ordinal);
}
