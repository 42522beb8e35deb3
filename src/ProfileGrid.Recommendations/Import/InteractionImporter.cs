using System.Globalization;
using System.Text;

namespace ProfileGrid.Recommendations.Import;

/// <summary>
/// Reads interaction files (MovieLens <c>u.data</c>, <c>ratings.csv</c> and 1M's <c>ratings.dat</c>, the Netflix Prize's
/// <c>combined_data_N.txt</c>, or any CSV/TSV, with a header or <see cref="ImportOptions.Names"/>, through a
/// <see cref="ColumnMapping"/>) into <see cref="UserInteractions"/>. A bad line is rejected with its line number and
/// reason and the import goes on; only an unreadable header (a mapped column missing) stops it.
/// </summary>
/// <remarks>
/// <para>Each accepted line is one interaction: a rating (kept as <see cref="ItemInteraction.Rating"/>) or an implicit
/// event (view, add_to_cart, purchase: counted). <see cref="ItemInteraction.LastAt"/> is the latest timestamp of the
/// pair, whatever the order of the lines; timestamps years old are fine, timestamps more than a day after
/// <see cref="ImportOptions.Now"/> are rejected.</para>
/// <para>Duplicates: a second rating of the same (user, item) is a duplicate and the rating with the latest timestamp
/// wins (the later line on a tie); an implicit event repeating an earlier line exactly (user, item, kind and
/// timestamp) is a duplicate and not counted again. Without a timestamp column repeated events are counted, since
/// nothing tells a replay from a second view.</para>
/// <para>Event type aliases (ignoring case): view, page_view, detail_view, click → view; add_to_cart, addtocart,
/// cart, add → add to cart; purchase, transaction, order, buy → purchase; rating, rate → rating.</para>
/// </remarks>
public static class InteractionImporter
{
    /// <summary>The highest rating the grid takes (EventValidator.MaxRating): a line rating above it, or below 0, is rejected here.</summary>
    public const double MaxRating = 100;

    private enum Kind { View, Cart, Purchase, Rating }

    /// <summary>Imports the file at <paramref name="path"/>; see <see cref="Import(Stream, ImportOptions, IProgress{ImportProgress}?, CancellationToken)"/>.</summary>
    public static InteractionImport Import(string path, ImportOptions options, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        using var stream = File.OpenRead(path);
        return Import(stream, options, progress, cancellationToken);
    }

    /// <summary>
    /// Imports <paramref name="stream"/>: users in ordinal id order, each with their items in ordinal id order, the
    /// summary, and the rejected lines.
    /// </summary>
    /// <exception cref="InvalidDataException">The header lacks a mapped column (the message lists the header's columns).</exception>
    public static InteractionImport Import(Stream stream, ImportOptions options, IProgress<ImportProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var now = options.Now ?? DateTimeOffset.UtcNow;
        var latestAllowed = now.AddDays(1);
        var defaultKind = ParseKind(options.DefaultEvent)
            ?? throw new ArgumentException($"Unknown default event '{options.DefaultEvent}'.", nameof(options));
        var rows = new DelimitedRows(options.MaxRejectsListed);
        var encoding = options.Encoding ?? new UTF8Encoding(false);
        var users = new Dictionary<string, Dictionary<string, Pair>>(StringComparer.Ordinal);
        var items = new HashSet<string>(StringComparer.Ordinal);
        var seenEvents = new HashSet<(string User, string Item, Kind Kind, long Ticks)>();
        long duplicates = 0;
        DateTimeOffset? earliest = null, latest = null;

        var netflix = options.Format == InteractionFileFormat.NetflixPrize;
        var movieLensWithoutHeader = options.Format is InteractionFileFormat.MovieLens100k or InteractionFileFormat.MovieLens1m or InteractionFileFormat.NetflixPrize;
        Layout layout = movieLensWithoutHeader
            ? new Layout(0, 1, 2, 3, null, null, 4, ["user", "item", "rating", "timestamp"])
            : default;
        // Netflix: the movie of the current "MovieID:" section; each of its lines is read as customer, movie, rating, date.
        string? movie = null;
        long? badMovieLine = null;
        string[] netflixNames = ["customer", "rating", "date"];
        var mapping = options.Format == InteractionFileFormat.MovieLensCsv ? ColumnMapping.MovieLens : options.Columns;
        if (options.Names is { } names)
        {
            if (options.Format != InteractionFileFormat.Csv)
            {
                throw new ArgumentException($"Column names (a file without a header) apply to the csv format only, not {options.Format}.", nameof(options));
            }

            // The names stand for the header the file lacks: a mapped name they do not list stops the import as a header would.
            layout = Layout.FromHeader(names.Select(n => n.Trim()).ToArray(), mapping);
        }

        var hasHeader = !movieLensWithoutHeader && options.Names is null;
        var separator = options.Separator ?? options.Format switch
        {
            InteractionFileFormat.MovieLens100k => '\t',
            InteractionFileFormat.MovieLensCsv or InteractionFileFormat.NetflixPrize => ',',
            _ => (char?)null,
        };

        rows.Read(
            stream,
            separator,
            hasHeader,
            quotes: !movieLensWithoutHeader && options.Quotes,
            encoding,
            header => layout = Layout.FromHeader(header, mapping),
            (line, fields, text) =>
            {
                if (netflix)
                {
                    if (fields.Length == 1 && fields[0].EndsWith(':'))
                    {
                        movie = fields[0][..^1].Trim();
                        if (movie.Length == 0)
                        {
                            movie = null;
                            badMovieLine = line;
                            rows.Reject(line, "movie line without a movie id (expected 'MovieID:')", text);
                            return;
                        }

                        rows.ItemLine();
                        return;
                    }

                    if (fields.Length != netflixNames.Length)
                    {
                        rows.Reject(line, fields.Length > netflixNames.Length
                            ? $"too many columns ({fields.Length}, expected 3: customer,rating,date)"
                            : $"missing column '{netflixNames[fields.Length]}' ({fields.Length} columns, expected 3)", text);
                        return;
                    }

                    if (movie is null)
                    {
                        rows.Reject(line, badMovieLine is { } bad ? $"its movie line (line {bad}) was rejected" : "no movie line ('MovieID:') before this rating", text);
                        return;
                    }

                    fields = [fields[0], movie, fields[1], fields[2]];
                }

                // A backslash before a quote (Book-Crossing's "9022906116\"") ends the quoted field under RFC 4180 and
                // moves the columns: say what would read it.
                var escapeHint = options.Escape is null && text.Contains("\\\"", StringComparison.Ordinal) ? "; the line has \\\" (read with the escape \\?)" : "";
                if (fields.Length > layout.Columns)
                {
                    rows.Reject(line, $"too many columns ({fields.Length}, expected {layout.Columns}){escapeHint}", text);
                    return;
                }

                var needed = layout.Needed;
                if (fields.Length < needed)
                {
                    rows.Reject(line, $"missing column '{layout.Names[fields.Length]}' ({fields.Length} columns, expected {layout.Columns}){escapeHint}", text);
                    return;
                }

                var user = fields[layout.User];
                var item = fields[layout.Item];
                if (user.Length == 0)
                {
                    rows.Reject(line, "missing user", text);
                    return;
                }

                if (item.Length == 0)
                {
                    rows.Reject(line, "missing item", text);
                    return;
                }

                // Bytes the encoding has no character for read as U+FFFD: as an id, "Müller" and "Mäller" (latin-1 read
                // as UTF-8) would be one user. The bulk event import rejects them the same way.
                if (user.Contains('\uFFFD', StringComparison.Ordinal) || item.Contains('\uFFFD', StringComparison.Ordinal))
                {
                    rows.Reject(line, $"the {(user.Contains('\uFFFD', StringComparison.Ordinal) ? "user" : "item")} holds bytes that are not {encoding.WebName}: give the file's encoding (iso-8859-1, windows-1252)", text);
                    return;
                }

                // No id holds a line break: a quote that opened a field and closed lines later (Last.fm's "heroes) made
                // this row of several lines, whose ids would be made up of them.
                if (user.AsSpan().IndexOfAny('\r', '\n') >= 0 || item.AsSpan().IndexOfAny('\r', '\n') >= 0)
                {
                    rows.Reject(line, $"the {(user.AsSpan().IndexOfAny('\r', '\n') >= 0 ? "user" : "item")} holds a line break", text);
                    return;
                }

                double? rating = null;
                if (layout.Rating is { } ratingColumn && (fields[ratingColumn].Length > 0 || layout.EventType is null))
                {
                    if (!double.TryParse(fields[ratingColumn], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                    {
                        rows.Reject(line, fields[ratingColumn].Length == 0 ? "missing rating" : $"non-numeric rating '{fields[ratingColumn]}'", text);
                        return;
                    }

                    if (value is < 0 or > MaxRating)
                    {
                        // The grid refuses it too, but by event, far from this line.
                        rows.Reject(line, $"rating {fields[ratingColumn]} is outside 0 to {MaxRating}, the scale the grid takes", text);
                        return;
                    }

                    rating = value;
                }

                // Book-Crossing's 0: an interaction without a rating, counted as the default kind.
                var implicitRating = rating is { } given && given == options.ImplicitRating;
                if (implicitRating)
                {
                    rating = null;
                }

                var at = now;
                if (layout.Timestamp is { } timeColumn)
                {
                    if (!TryParseTime(fields[timeColumn], out at, out var problem))
                    {
                        rows.Reject(line, problem, text);
                        return;
                    }

                    if (at > latestAllowed)
                    {
                        rows.Reject(line, $"timestamp in the future ({at:O})", text);
                        return;
                    }
                }

                // Last.fm's plays: the line is that many events of its kind.
                var count = 1;
                if (layout.Count is { } countColumn)
                {
                    var countText = fields[countColumn];
                    if (!long.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out var counted))
                    {
                        rows.Reject(line, countText.Length == 0 ? "missing count" : $"count '{countText}' is not a whole number of 0 or more", text);
                        return;
                    }

                    if (counted == 0)
                    {
                        rows.Reject(line, "count 0: no interaction", text);
                        return;
                    }

                    count = (int)Math.Min(counted, int.MaxValue);
                }

                Kind kind;
                if (layout.EventType is { } typeColumn)
                {
                    if (ParseKind(fields[typeColumn]) is not { } parsed)
                    {
                        rows.Reject(line, fields[typeColumn].Length == 0 ? "missing event type" : $"unknown event type '{fields[typeColumn]}'", text);
                        return;
                    }

                    if (parsed == Kind.Rating && implicitRating)
                    {
                        parsed = defaultKind;
                    }
                    else if (parsed == Kind.Rating && rating is null)
                    {
                        rows.Reject(line, "rating event without a rating", text);
                        return;
                    }

                    kind = parsed;
                }
                else
                {
                    kind = rating is null ? defaultKind : Kind.Rating;
                }

                if (!users.TryGetValue(user, out var pairs))
                {
                    users[user] = pairs = new Dictionary<string, Pair>(StringComparer.Ordinal);
                }

                items.Add(item);
                pairs.TryGetValue(item, out var pair);
                if (kind == Kind.Rating)
                {
                    if (pair.Rating is not null)
                    {
                        duplicates++;
                    }

                    if (pair.Rating is null || at >= pair.RatedAt)
                    {
                        pair.Rating = rating;
                        pair.RatedAt = at;
                    }
                }
                else
                {
                    if (layout.Timestamp is not null && !seenEvents.Add((user, item, kind, at.UtcTicks)))
                    {
                        duplicates++;
                        return;
                    }

                    switch (kind)
                    {
                        case Kind.View: pair.Views = Add(pair.Views, count); break;
                        case Kind.Cart: pair.Carts = Add(pair.Carts, count); break;
                        default: pair.Purchases = Add(pair.Purchases, count); break;
                    }
                }

                pair.LastAt = pair.Seen && pair.LastAt > at ? pair.LastAt : at;
                pair.Seen = true;
                pairs[item] = pair;
                earliest = earliest is { } e && e < at ? e : at;
                latest = latest is { } l && l > at ? l : at;
            },
            progress,
            cancellationToken,
            doubleColon: options.Format == InteractionFileFormat.MovieLens1m,
            escape: options.Escape);

        var result = users
            .OrderBy(u => u.Key, StringComparer.Ordinal)
            .Select(u => new UserInteractions(
                u.Key,
                u.Value.OrderBy(p => p.Key, StringComparer.Ordinal)
                    .Select(p => new ItemInteraction(p.Key, p.Value.Views, p.Value.Carts, p.Value.Purchases, p.Value.Rating, p.Value.LastAt))
                    .ToArray()))
            .ToArray();
        return new InteractionImport(result, rows.Summary(duplicates, users.Count, items.Count, earliest, latest), rows.Rejects);
    }

    /// <summary>
    /// Unix seconds (digits, optionally a fraction) or ISO-8601; a time without an offset is UTC. Values before 1970 or
    /// past the year 9999 (unix milliseconds given as seconds) are rejected with a reason saying so.
    /// </summary>
    public static bool TryParseTime(string value, out DateTimeOffset time, out string problem)
    {
        time = default;
        problem = "";
        if (value.Length == 0)
        {
            problem = "missing timestamp";
            return false;
        }

        if (value.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds))
            {
                problem = $"bad timestamp '{value}' (expected unix seconds or ISO-8601)";
                return false;
            }

            if (seconds > 253_402_300_799)
            {
                problem = $"bad timestamp '{value}' (past the year 9999: milliseconds instead of seconds?)";
                return false;
            }

            time = DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));
            return true;
        }

        if (value[0] == '-' && value.Skip(1).All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            problem = $"bad timestamp '{value}' (negative unix seconds)";
            return false;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time))
        {
            return true;
        }

        problem = $"bad timestamp '{value}' (expected unix seconds or ISO-8601)";
        return false;
    }

    private static int Add(int total, int count) => (int)Math.Min((long)total + count, int.MaxValue);

    private static Kind? ParseKind(string value) => value.Trim().ToLowerInvariant() switch
    {
        "view" or "page_view" or "detail_view" or "click" => Kind.View,
        "add_to_cart" or "addtocart" or "cart" or "add" => Kind.Cart,
        "purchase" or "transaction" or "order" or "buy" => Kind.Purchase,
        "rating" or "rate" => Kind.Rating,
        _ => null,
    };

    private struct Pair
    {
        public int Views;
        public int Carts;
        public int Purchases;
        public double? Rating;
        public DateTimeOffset RatedAt;
        public DateTimeOffset LastAt;
        public bool Seen;
    }

    /// <summary>Column indices of a file; <see cref="Needed"/> is one past the last mapped column.</summary>
    private readonly record struct Layout(int User, int Item, int? Rating, int? Timestamp, int? EventType, int? Count, int Columns, string[] Names)
    {
        public int Needed => new[] { User, Item, Rating ?? -1, Timestamp ?? -1, EventType ?? -1, Count ?? -1 }.Max() + 1;

        public static Layout FromHeader(string[] header, ColumnMapping? mapping)
        {
            var missing = new List<string>();
            var twice = new List<string>();
            int? Find(string? name, bool required)
            {
                if (name is null)
                {
                    return null;
                }

                var at = Array.FindIndex(header, h => string.Equals(h, name.Trim(), StringComparison.OrdinalIgnoreCase));
                if (at < 0 && required)
                {
                    missing.Add(name);
                }

                if (at >= 0 && Array.FindLastIndex(header, h => string.Equals(h, name.Trim(), StringComparison.OrdinalIgnoreCase)) is var last && last != at)
                {
                    twice.Add($"'{name}' names columns {at + 1} and {last + 1}");
                }

                return at < 0 ? null : at;
            }

            Layout layout;
            if (mapping is null)
            {
                // No mapping: the conventional names, each optional column used when present.
                layout = new Layout(Find("user", true) ?? 0, Find("item", true) ?? 0, Find("rating", false), Find("timestamp", false), Find("event_type", false), null, header.Length, header);
            }
            else
            {
                layout = new Layout(
                    Find(mapping.User, true) ?? 0, Find(mapping.Item, true) ?? 0, Find(mapping.Rating, true), Find(mapping.Timestamp, true), Find(mapping.EventType, true), Find(mapping.Count, true), header.Length, header);
            }

            if (missing.Count > 0)
            {
                throw new InvalidDataException(header.Length == 0
                    ? $"The file has no header (it is empty); expected column(s) {string.Join(", ", missing.Select(m => $"'{m}'"))}."
                    : $"The header lacks column(s) {string.Join(", ", missing.Select(m => $"'{m}'"))}; it has {string.Join(", ", header.Select(h => $"'{h}'"))}.");
            }

            if (twice.Count > 0)
            {
                throw new InvalidDataException($"The header names a column it uses twice, so which one is meant is unknown: {string.Join("; ", twice)}.");
            }

            return layout;
        }
    }
}
