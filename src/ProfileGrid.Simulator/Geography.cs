namespace ProfileGrid.Simulator;

internal sealed record City(string Name, int UtcOffsetHours);

/// <summary>A market: its share of users, its languages and cities, and the currency its shoppers pay in.</summary>
internal sealed record Market(
    string Country,
    double Weight,
    string Currency,
    string? AlternativeCurrency,
    Weighted<string> Locales,
    IReadOnlyList<City> Cities);

/// <summary>A realistic mix of markets for a European/North American shop, weighted by share of users.</summary>
internal static class Geography
{
    /// <summary>Share of users in a market with an alternative currency who pay in it (e.g. Swiss users paying in EUR).</summary>
    public const double AlternativeCurrencyShare = 0.08;

    public static readonly IReadOnlyList<Market> Markets =
    [
        Market("US", 24, "USD", null, [("en-US", 0.9), ("es-US", 0.1)],
            [new("New York", -5), new("Los Angeles", -8), new("Chicago", -6), new("Houston", -6), new("Seattle", -8), new("Miami", -5), new("Boston", -5)]),
        Market("DE", 14, "EUR", null, [("de-DE", 1)],
            [new("Berlin", 1), new("Hamburg", 1), new("Munich", 1), new("Cologne", 1), new("Frankfurt", 1)]),
        Market("GB", 11, "GBP", null, [("en-GB", 1)],
            [new("London", 0), new("Manchester", 0), new("Birmingham", 0), new("Leeds", 0), new("Glasgow", 0)]),
        Market("FR", 9, "EUR", null, [("fr-FR", 1)],
            [new("Paris", 1), new("Lyon", 1), new("Marseille", 1), new("Toulouse", 1), new("Lille", 1)]),
        Market("ES", 5, "EUR", null, [("es-ES", 0.9), ("ca-ES", 0.1)],
            [new("Madrid", 1), new("Barcelona", 1), new("Valencia", 1), new("Seville", 1)]),
        Market("IT", 5, "EUR", null, [("it-IT", 1)],
            [new("Rome", 1), new("Milan", 1), new("Naples", 1), new("Turin", 1)]),
        Market("NL", 4, "EUR", null, [("nl-NL", 1)],
            [new("Amsterdam", 1), new("Rotterdam", 1), new("Utrecht", 1), new("The Hague", 1)]),
        Market("CA", 4, "CAD", "USD", [("en-CA", 0.78), ("fr-CA", 0.22)],
            [new("Toronto", -5), new("Vancouver", -8), new("Montreal", -5), new("Calgary", -7)]),
        Market("AU", 3, "AUD", null, [("en-AU", 1)],
            [new("Sydney", 10), new("Melbourne", 10), new("Brisbane", 10), new("Perth", 8)]),
        Market("PL", 3, "PLN", "EUR", [("pl-PL", 1)],
            [new("Warsaw", 1), new("Krakow", 1), new("Wroclaw", 1), new("Gdansk", 1)]),
        Market("SE", 2, "SEK", "EUR", [("sv-SE", 1)],
            [new("Stockholm", 1), new("Gothenburg", 1), new("Malmo", 1)]),
        Market("CH", 2, "CHF", "EUR", [("de-CH", 0.65), ("fr-CH", 0.25), ("it-CH", 0.1)],
            [new("Zurich", 1), new("Geneva", 1), new("Basel", 1), new("Bern", 1)]),
        Market("AT", 2, "EUR", null, [("de-AT", 1)],
            [new("Vienna", 1), new("Graz", 1), new("Linz", 1)]),
        Market("BE", 2, "EUR", null, [("nl-BE", 0.6), ("fr-BE", 0.4)],
            [new("Brussels", 1), new("Antwerp", 1), new("Ghent", 1)]),
        Market("BR", 2, "BRL", "USD", [("pt-BR", 1)],
            [new("Sao Paulo", -3), new("Rio de Janeiro", -3), new("Belo Horizonte", -3)]),
        Market("MX", 2, "MXN", "USD", [("es-MX", 1)],
            [new("Mexico City", -6), new("Guadalajara", -6), new("Monterrey", -6)]),
        Market("IE", 1, "EUR", null, [("en-IE", 1)],
            [new("Dublin", 0), new("Cork", 0)]),
        Market("DK", 1, "DKK", "EUR", [("da-DK", 1)],
            [new("Copenhagen", 1), new("Aarhus", 1)]),
        Market("NO", 1, "NOK", "EUR", [("nb-NO", 1)],
            [new("Oslo", 1), new("Bergen", 1)]),
    ];

    public static readonly Weighted<Market> MarketsByShare = new(Markets.Select(market => (market, market.Weight)));

    /// <summary>Units of each currency per euro; catalogue prices are kept in euros and converted at display.</summary>
    public static readonly IReadOnlyDictionary<string, decimal> UnitsPerEuro = new Dictionary<string, decimal>
    {
        ["EUR"] = 1m, ["USD"] = 1.08m, ["GBP"] = 0.85m, ["CAD"] = 1.47m, ["AUD"] = 1.63m, ["PLN"] = 4.30m,
        ["SEK"] = 11.40m, ["CHF"] = 0.95m, ["DKK"] = 7.46m, ["NOK"] = 11.60m, ["BRL"] = 5.50m, ["MXN"] = 18.50m,
    };

    private static Market Market(
        string country, double weight, string currency, string? alternativeCurrency,
        (string Locale, double Weight)[] locales, City[] cities) =>
        new(country, weight, currency, alternativeCurrency, new Weighted<string>(locales), cities);
}
