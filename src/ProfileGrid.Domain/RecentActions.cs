using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>The bounded, event-time-ordered sequence of a user's latest actions.</summary>
internal static class RecentActions
{
    /// <summary>
    /// Inserts <paramref name="action"/> at its place by (event time, event id) and drops the oldest beyond
    /// <paramref name="capacity"/>, so the sequence holds the latest actions whatever the arrival order.
    /// </summary>
    public static void Insert(RecentActionLog actions, RecentAction action, int capacity) => actions.Insert(action, capacity);

    public static RecentAction From(UserEvent userEvent, DateTimeOffset time)
    {
        var action = new RecentAction { EventId = userEvent.EventId, Kind = userEvent.Kind, OccurredAt = time };
        switch (userEvent.Kind)
        {
            case EventKind.PageView:
                action.Detail = PathOf(userEvent.Page?.Url) ?? userEvent.Page?.Title;
                break;
            case EventKind.ProductView or EventKind.AddToCart or EventKind.RemoveFromCart:
                action.ProductId = userEvent.Product?.ProductId;
                action.Category = userEvent.Product?.Category;
                break;
            case EventKind.Rating:
                action.ProductId = userEvent.Product?.ProductId;
                action.Category = userEvent.Product?.Category;
                action.Detail = userEvent.Rating?.ToString(System.Globalization.CultureInfo.InvariantCulture);
                break;
            case EventKind.Search:
                action.Detail = userEvent.Search?.Query;
                break;
            case EventKind.Purchase:
                var firstLine = userEvent.Purchase?.Lines.FirstOrDefault();
                action.ProductId = firstLine?.ProductId;
                action.Category = firstLine?.Category;
                action.Detail = userEvent.Purchase?.OrderId;
                break;
            case EventKind.Refund:
                action.ProductId = userEvent.Refund?.Lines.FirstOrDefault()?.ProductId;
                action.Detail = userEvent.Refund?.OrderId ?? userEvent.Refund?.RefundId;
                break;
            case EventKind.PreferenceSet:
                action.Detail = userEvent.Preference?.Key;
                break;
            case EventKind.Custom:
                action.Detail = userEvent.Custom?.Name;
                break;
            case EventKind.Click:
                action.ProductId = userEvent.Feedback?.ItemId;
                action.Detail = userEvent.Feedback?.Slot;
                break;
        }

        if (action.Detail is not null)
        {
            action.Detail = ProfileUpdater.Truncate(action.Detail, ProfileUpdater.MaxDetailLength);
        }

        return action;
    }

    /// <summary>
    /// The URL without what may carry tokens or personal data: the query string and fragment (also percent-encoded, %3F
    /// and %23), path parameters (";jsessionid=..."), and the user name and password before the host (probe58).
    /// </summary>
    internal static string? PathOf(string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return null;
        }

        // Credentials first: "https://bob:se;cret@host/p" holds a ';' and a '?' can sit in a password too. The authority
        // follows "scheme://" (or a leading "//"); it ends at the first '/', '?' or '#', and credentials at its last '@'.
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        var authorityStart = url.StartsWith("//", StringComparison.Ordinal) ? 2
            : scheme > 0 && url.AsSpan(0, scheme).IndexOfAnyExcept(SchemeCharacters) < 0 ? scheme + 3
            : -1;
        if (authorityStart >= 0)
        {
            var authorityEnd = url.IndexOfAny(['/', '?', '#'], authorityStart);
            var at = url.LastIndexOf('@', authorityEnd < 0 ? url.Length - 1 : authorityEnd - 1, (authorityEnd < 0 ? url.Length : authorityEnd) - authorityStart);
            if (at >= 0)
            {
                url = url[..authorityStart] + url[(at + 1)..];
            }
        }

        var end = url.IndexOfAny(['?', '#', ';']);
        var path = end >= 0 ? url[..end] : url;
        foreach (var encoded in (ReadOnlySpan<string>)["%3F", "%23", "%3B"])
        {
            var cut = path.IndexOf(encoded, StringComparison.OrdinalIgnoreCase);
            if (cut >= 0)
            {
                path = path[..cut];
            }
        }

        return path.Length == 0 ? null : path;
    }

    private static readonly System.Buffers.SearchValues<char> SchemeCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
}
