namespace ProfileGrid.Simulator;

/// <summary>A simulated user plus the hidden details their events are generated from.</summary>
internal sealed class Persona
{
    public required int Index { get; init; }
    public required SimulatedUser User { get; init; }
    public required BehaviorProfile Behavior { get; init; }
    public required TimeSpan UtcOffset { get; init; }
    public required double AppShare { get; init; }
    public required string WebDevice { get; init; }
    public required string AppDevice { get; init; }
    public required MobilePlatform Platform { get; init; }
    public required int DesktopBrowser { get; init; }
    public required int BirthYear { get; init; }
    public required string Gender { get; init; }

    /// <summary>Set when the user's first web session happened before they logged in.</summary>
    public required string? FirstVisitAnonymousId { get; init; }

    /// <summary>The span in which the user starts sessions; nothing happens outside it.</summary>
    public required DateTime ActiveFrom { get; init; }
    public required DateTime ActiveUntil { get; init; }

    public string UserId => User.UserId;
}

/// <summary>Draws the users: their type, market, devices and the span of time they are active in.</summary>
internal static class PersonaFactory
{
    public static readonly Weighted<string> WebDevices = Weighted.Of(("desktop", 0.5), ("mobile", 0.4), ("tablet", 0.1));
    private static readonly Weighted<string> Genders = Weighted.Of(("female", 0.49), ("male", 0.45), ("non_binary", 0.02), ("unknown", 0.04));

    /// <summary>The user id of the user at <paramref name="index"/> (zero-based).</summary>
    public static string UserIdAt(int index) => $"u-{index + 1:D6}";

    public static Persona Create(SimulationOptions options, ProductCatalog catalog, int index)
    {
        var random = Seeds.For(options.Seed, Seeds.Persona, index);
        var type = TypeAt(options.Seed, index);
        var behavior = BehaviorProfile.For(type);

        var market = Geography.MarketsByShare.Sample(random);
        var city = random.Pick(market.Cities);
        var locale = market.Locales.Sample(random);
        var currency = market.AlternativeCurrency is { } alternative && random.Chance(Geography.AlternativeCurrencyShare)
            ? alternative
            : market.Currency;

        var appShare = Math.Clamp(behavior.AppShare + random.Between(-0.15, 0.15), 0.02, 0.95);
        var webDevice = WebDevices.Sample(random);
        var appDevice = random.Chance(0.85) ? "mobile" : "tablet";
        var platform = random.Chance(market.Country is "US" or "GB" or "AU" or "CH" ? 0.55 : 0.35) ? MobilePlatform.Ios : MobilePlatform.Android;
        var preferredSource = appShare > 0.5 ? "app" : "web";

        var favoriteCount = random.Next(2, 4);
        var favorites = new List<string>(favoriteCount);
        while (favorites.Count < favoriteCount)
        {
            var category = catalog.CategoriesByPopularity.Sample(random);
            if (!favorites.Contains(category))
            {
                favorites.Add(category);
            }
        }

        var birthYear = (int)Math.Round(random.Normal(behavior.MeanBirthYear, 11));
        birthYear = Math.Clamp(birthYear, 1940, options.AsOf.UtcDateTime.Year - 16);
        var gender = Genders.Sample(random);
        var anonymousId = random.Chance(0.35) ? $"anon-{random.NextInt64():x16}" : null;
        var (activeFrom, activeUntil) = ActiveSpan(options, type, random);

        // From a generator of its own, so the other draws (and with no tastes the whole stream) stay as they were.
        int? tasteGroup = options.TasteGroups > 0 ? Seeds.For(options.Seed, Seeds.Taste, index).Next(options.TasteGroups) : null;

        return new Persona
        {
            Index = index,
            User = new SimulatedUser(
                UserIdAt(index), type, market.Country, city.Name, locale, locale[..2], currency,
                preferredSource, preferredSource == "app" ? appDevice : webDevice, favorites)
            {
                TasteGroup = tasteGroup,
                PreferredItems = tasteGroup is { } group ? catalog.TastesFor(options.TasteGroups).PreferredItems[group] : SimulatedUser.NoPreferredItems,
            },
            Behavior = behavior,
            UtcOffset = TimeSpan.FromHours(city.UtcOffsetHours),
            AppShare = appShare,
            WebDevice = webDevice,
            AppDevice = appDevice,
            Platform = platform,
            DesktopBrowser = random.Next(1000),
            BirthYear = birthYear,
            Gender = gender,
            FirstVisitAnonymousId = anonymousId,
            ActiveFrom = activeFrom,
            ActiveUntil = activeUntil,
        };
    }

    /// <summary>
    /// Types are dealt in blocks of 20 users, each block a seeded shuffle of the planted mix, so that every prefix of
    /// the user list has close to the planted shares while a user's type never depends on how many users there are.
    /// </summary>
    public static UserType TypeAt(int seed, int index)
    {
        var block = index / BehaviorProfile.BlockSize;
        var deck = BehaviorProfile.TypesPerBlock.SelectMany(entry => Enumerable.Repeat(entry.Type, entry.Count)).ToArray();
        Seeds.For(seed, Seeds.TypeBlock, block).Shuffle(deck);
        return deck[index % BehaviorProfile.BlockSize];
    }

    private static (DateTime From, DateTime Until) ActiveSpan(SimulationOptions options, UserType type, Random random)
    {
        var asOf = options.AsOf.UtcDateTime;
        var historyStart = asOf.AddDays(-options.HistoryDays);
        var latestSessionStart = asOf - SessionPlanner.LongestSession;
        switch (type)
        {
            case UserType.HighValue:
                return (historyStart.AddDays(random.Between(0, 21)), latestSessionStart);
            case UserType.Casual:
                return (historyStart.AddDays(random.Between(0, options.HistoryDays - 60)), latestSessionStart);
            case UserType.New:
                return (asOf.AddDays(-random.Between(1, 12.5)), latestSessionStart);
            case UserType.Dormant:
                // Silent for at least 185 days, so that a session running late still ends before the 180-day mark.
                var lastActive = asOf.AddDays(-random.Between(185, options.HistoryDays - 45));
                var firstActive = lastActive.AddDays(-random.Between(30, 150));
                return (firstActive < historyStart ? historyStart : firstActive, lastActive);
            case UserType.Browser:
                return (historyStart.AddDays(random.Between(0, options.HistoryDays / 2.0)), latestSessionStart);
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }
}
