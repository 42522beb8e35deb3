namespace ProfileGrid.Segmentation;

/// <summary>
/// A customer's RFM scores, each 1 to 5: <see cref="Recency"/> 5 = bought most recently, <see cref="Frequency"/> 5 =
/// most orders, <see cref="Monetary"/> 5 = most revenue.
/// </summary>
public readonly record struct RfmScore(int Recency, int Frequency, int Monetary)
{
    /// <summary>The three digits marketers write, recency first ("545").</summary>
    public string Code => $"{Recency}{Frequency}{Monetary}";

    /// <summary>The named cell of the R×F grid (<see cref="RfmCells.Of"/>).</summary>
    public string Cell => RfmCells.Of(Recency, Frequency);

    /// <summary>The code as a number (545), which stores in an int; 0 is never a valid score.</summary>
    public int Packed => Recency * 100 + Frequency * 10 + Monetary;

    /// <summary>The score packed by <see cref="Packed"/>; null for 0 (not scored) or anything that is not three digits 1-5.</summary>
    public static RfmScore? FromPacked(int packed)
    {
        var (r, f, m) = (packed / 100, packed / 10 % 10, packed % 10);
        return packed is >= 111 and <= 555 && r is >= 1 and <= 5 && f is >= 1 and <= 5 && m is >= 1 and <= 5
            ? new RfmScore(r, f, m)
            : null;
    }
}

/// <summary>
/// The named RFM cells marketers know, from the recency and frequency scores (the widely used R×F grid; the monetary
/// score does not pick the cell). Every one of the 25 (R, F) pairs falls in exactly one cell:
/// <code>
///        F=1              F=2                  F=3                  F=4          F=5
/// R=5    new              potential-loyalists  potential-loyalists  champions    champions
/// R=4    promising        potential-loyalists  potential-loyalists  loyal        loyal
/// R=3    about-to-sleep   about-to-sleep       need-attention       loyal        loyal
/// R=2    hibernating      hibernating          at-risk              at-risk      cant-lose-them
/// R=1    lost             hibernating          at-risk              at-risk      cant-lose-them
/// </code>
/// Cell ids are kebab-case, like segment labels, so that they sit in a URL as they are.
/// </summary>
public static class RfmCells
{
    public const string Champions = "champions";
    public const string Loyal = "loyal";
    public const string PotentialLoyalists = "potential-loyalists";
    public const string New = "new";
    public const string Promising = "promising";
    public const string NeedAttention = "need-attention";
    public const string AboutToSleep = "about-to-sleep";
    public const string AtRisk = "at-risk";
    public const string CantLoseThem = "cant-lose-them";
    public const string Hibernating = "hibernating";
    public const string Lost = "lost";

    /// <summary>Every cell id, best customers first.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        Champions, Loyal, PotentialLoyalists, New, Promising, NeedAttention, AboutToSleep, AtRisk, CantLoseThem, Hibernating, Lost,
    ];

    // Row = 5 - R (R5 first), column = F - 1: the table of the summary, as written there.
    private static readonly string[,] Grid =
    {
        { New, PotentialLoyalists, PotentialLoyalists, Champions, Champions },
        { Promising, PotentialLoyalists, PotentialLoyalists, Loyal, Loyal },
        { AboutToSleep, AboutToSleep, NeedAttention, Loyal, Loyal },
        { Hibernating, Hibernating, AtRisk, AtRisk, CantLoseThem },
        { Lost, Hibernating, AtRisk, AtRisk, CantLoseThem },
    };

    private static readonly Dictionary<string, (string Name, string Rule)> Descriptions = new(StringComparer.Ordinal)
    {
        [Champions] = ("Champions", "R 5, F 4-5"),
        [Loyal] = ("Loyal", "R 3-4, F 4-5"),
        [PotentialLoyalists] = ("Potential loyalists", "R 4-5, F 2-3"),
        [New] = ("New", "R 5, F 1"),
        [Promising] = ("Promising", "R 4, F 1"),
        [NeedAttention] = ("Need attention", "R 3, F 3"),
        [AboutToSleep] = ("About to sleep", "R 3, F 1-2"),
        [AtRisk] = ("At risk", "R 1-2, F 3-4"),
        [CantLoseThem] = ("Can't lose them", "R 1-2, F 5"),
        [Hibernating] = ("Hibernating", "R 1-2, F 1-2, except R 1 F 1"),
        [Lost] = ("Lost", "R 1, F 1"),
    };

    /// <summary>The cell of recency score <paramref name="recency"/> and frequency score <paramref name="frequency"/> (each 1-5).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A score is not 1 to 5.</exception>
    public static string Of(int recency, int frequency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(recency, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(recency, 5);
        ArgumentOutOfRangeException.ThrowIfLessThan(frequency, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(frequency, 5);
        return Grid[5 - recency, frequency - 1];
    }

    /// <summary>True when <paramref name="cell"/> is one of <see cref="All"/> (exact, lower case).</summary>
    public static bool IsCell(string? cell) => cell is not null && Descriptions.ContainsKey(cell);

    /// <summary>The cell's name as marketers write it ("Can't lose them").</summary>
    public static string NameOf(string cell) => Descriptions[cell].Name;

    /// <summary>The scores the cell covers, in words ("R 1-2, F 5").</summary>
    public static string RuleOf(string cell) => Descriptions[cell].Rule;
}

/// <summary>
/// Classic RFM scoring of customers: quintile scores 1-5 for recency (whole days since the last purchase), frequency
/// (orders) and monetary value (revenue), with quintile edges fitted on the buyers of a training set.
/// </summary>
/// <remarks>
/// <para><b>Who is scored.</b> Customers only: a row with at least one order (frequency &gt; 0). Everyone else has no
/// score ("not a customer yet"), and is left out of the fit too, so that browsers do not pull the edges.</para>
/// <para><b>Recency in whole days</b>, as classic RFM takes it (pandas' <c>(as_of - last_purchase).dt.days</c>): customers who
/// bought on the same day stay equal however the instant of scoring moves within a day, and a vector aged by adding
/// fractional days (160.0000000000018 for 160) still scores as the day it is (<see cref="WholeDays"/>).</para>
/// <para><b>Edges.</b> The 20%, 40%, 60% and 80% quantiles of each measure over the buyers, with linear interpolation
/// between order statistics (numpy's default <c>np.quantile</c>, pandas' <c>quantile</c>, type 7 of Hyndman and Fan),
/// at the levels k × 0.2 exactly as pandas <c>qcut</c> takes them from <c>np.linspace(0, 1, 6)</c>.</para>
/// <para><b>Bins.</b> A value's bin is 1 + the number of edges strictly below it: bins are closed on the right, as
/// pandas <c>qcut</c> and <c>cut</c> make them ((e0, e1], (e1, e2], ...), the lowest value falls in bin 1, and a value
/// beyond the training range falls in bin 1 or 5. Frequency and monetary score = bin; recency score = 6 - bin, since
/// fewer days since the last purchase is better. Without ties this is exactly <c>pd.qcut(x, 5, labels=False) + 1</c>.</para>
/// <para><b>Ties.</b> Frequency is mostly 1, 2, 3 orders, so edges repeat (pandas <c>qcut</c> refuses such edges). The
/// rule above still gives every value one score: a value equal to a repeated edge has none of the copies below it and
/// takes the lowest bin that edge closes. If most buyers ordered once, every one-time buyer scores F 1 and the next
/// score used is higher (with edges 1, 1, 1, 2: one order F 1, two orders F 4, three or more F 5); the scores in
/// between stay empty rather than splitting equal customers at random. The same is <c>np.searchsorted(edges, x)</c>
/// + 1 on <c>np.quantile</c>'s edges.</para>
/// <para>Immutable once fitted; plain properties so that it serialises with System.Text.Json inside the model.</para>
/// </remarks>
public sealed class RfmModel
{
    /// <summary>How the model's warnings about RFM begin: the RFM cells answer carries them too.</summary>
    public const string WarningPrefix = "rfm: ";

    /// <summary>The features RFM reads, by name: days since the last purchase, orders and revenue.</summary>
    public const string RecencyFeature = "recency_days";

    /// <inheritdoc cref="RecencyFeature"/>
    public const string FrequencyFeature = "frequency";

    /// <inheritdoc cref="RecencyFeature"/>
    public const string MonetaryFeature = "monetary";

    /// <summary>Column of <see cref="RecencyFeature"/> in the source vector that <see cref="ScoreVector"/> reads.</summary>
    public int RecencyColumn { get; init; }

    /// <summary>Column of <see cref="FrequencyFeature"/> in the source vector.</summary>
    public int FrequencyColumn { get; init; }

    /// <summary>Column of <see cref="MonetaryFeature"/> in the source vector.</summary>
    public int MonetaryColumn { get; init; }

    /// <summary>The 20/40/60/80% quantiles of whole days since the last purchase over the buyers, ascending.</summary>
    public double[] RecencyEdges { get; init; } = [];

    /// <summary>The 20/40/60/80% quantiles of orders over the buyers, ascending.</summary>
    public double[] FrequencyEdges { get; init; } = [];

    /// <summary>The 20/40/60/80% quantiles of revenue over the buyers, ascending.</summary>
    public double[] MonetaryEdges { get; init; } = [];

    /// <summary>Buyers (rows with frequency &gt; 0) the edges were fitted on.</summary>
    public int FittedOn { get; init; }

    /// <summary>
    /// Fits the edges on the buyers among <paramref name="rows"/>, reading the columns named <see cref="RecencyFeature"/>,
    /// <see cref="FrequencyFeature"/> and <see cref="MonetaryFeature"/> in <paramref name="sourceFeatures"/>. Null when a
    /// column is missing or no row is a buyer: there is nothing to score against.
    /// </summary>
    public static RfmModel? TryFit(IReadOnlyList<string> sourceFeatures, IReadOnlyList<double[]> rows)
    {
        ArgumentNullException.ThrowIfNull(sourceFeatures);
        ArgumentNullException.ThrowIfNull(rows);
        var recency = IndexOf(sourceFeatures, RecencyFeature);
        var frequency = IndexOf(sourceFeatures, FrequencyFeature);
        var monetary = IndexOf(sourceFeatures, MonetaryFeature);
        if (recency < 0 || frequency < 0 || monetary < 0)
        {
            return null;
        }

        var buyers = rows.Where(r => IsBuyer(r[frequency]) && double.IsFinite(r[recency]) && double.IsFinite(r[monetary])).ToArray();
        if (buyers.Length == 0)
        {
            return null;
        }

        return new RfmModel
        {
            RecencyColumn = recency,
            FrequencyColumn = frequency,
            MonetaryColumn = monetary,
            RecencyEdges = QuintileEdges(buyers.Select(r => WholeDays(r[recency]))),
            FrequencyEdges = QuintileEdges(buyers.Select(r => r[frequency])),
            MonetaryEdges = QuintileEdges(buyers.Select(r => r[monetary])),
            FittedOn = buyers.Length,
        };
    }

    /// <summary>
    /// Fits the edges on (recency days, orders, revenue) triples, buyers only (see <see cref="TryFit"/>); for a source
    /// vector of exactly these three columns.
    /// </summary>
    public static RfmModel? TryFit(IEnumerable<(double RecencyDays, double Frequency, double Monetary)> customers) =>
        TryFit([RecencyFeature, FrequencyFeature, MonetaryFeature], customers.Select(c => new[] { c.RecencyDays, c.Frequency, c.Monetary }).ToArray());

    /// <summary>The scores of a source vector (the columns this model was fitted on); null for a non-buyer.</summary>
    public RfmScore? ScoreVector(double[] sourceVector)
    {
        ArgumentNullException.ThrowIfNull(sourceVector);
        return Score(sourceVector[RecencyColumn], sourceVector[FrequencyColumn], sourceVector[MonetaryColumn]);
    }

    /// <summary>
    /// The scores of a customer; null when <paramref name="frequency"/> is not above 0 (not a customer yet) or a value
    /// is not a number.
    /// </summary>
    public RfmScore? Score(double recencyDays, double frequency, double monetary)
    {
        if (!IsBuyer(frequency) || !double.IsFinite(recencyDays) || !double.IsFinite(monetary))
        {
            return null;
        }

        return new RfmScore(6 - Bin(RecencyEdges, WholeDays(recencyDays)), Bin(FrequencyEdges, frequency), Bin(MonetaryEdges, monetary));
    }

    /// <summary>
    /// The whole days in <paramref name="days"/>, floored as <c>Timedelta.days</c> is. A vector moved to another instant
    /// adds fractional days, whose rounding leaves a whole number a few ulps off either side; anything within a
    /// millisecond below the next whole day counts as that day.
    /// </summary>
    public static double WholeDays(double days) => Math.Floor(days + WholeDayTolerance);

    private const double WholeDayTolerance = 1.0 / (24 * 3600 * 1000);

    /// <summary>1 + the number of <paramref name="edges"/> strictly below <paramref name="value"/> (right-closed bins).</summary>
    public static int Bin(IReadOnlyList<double> edges, double value)
    {
        var bin = 1;
        foreach (var edge in edges)
        {
            if (edge < value)
            {
                bin++;
            }
        }

        return bin;
    }

    /// <summary>The quantiles at k × 0.2 for k = 1..4 (pandas <c>qcut</c>'s interior edges), linear interpolation.</summary>
    public static double[] QuintileEdges(IEnumerable<double> values)
    {
        var sorted = values.ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("Quintiles need at least one value.", nameof(values));
        }

        Array.Sort(sorted);
        return [Quantile(sorted, 1 * 0.2), Quantile(sorted, 2 * 0.2), Quantile(sorted, 3 * 0.2), Quantile(sorted, 4 * 0.2)];
    }

    /// <summary>
    /// numpy's linear quantile of ascending <paramref name="sorted"/> at <paramref name="q"/>, computed the way numpy
    /// does (virtual index (n - 1) q, and its two-sided lerp) so that edges agree to the last bit and a value on an
    /// edge falls in the same bin on both sides.
    /// </summary>
    public static double Quantile(double[] sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var n = sorted.Length;
        var virtualIndex = (n - 1) * q;
        var previous = Math.Clamp((int)Math.Floor(virtualIndex), 0, n - 1);
        var next = Math.Min(previous + 1, n - 1);
        var gamma = virtualIndex - Math.Floor(virtualIndex);
        var a = sorted[previous];
        var b = sorted[next];
        var difference = b - a;
        return gamma >= 0.5 ? b - difference * (1 - gamma) : a + difference * gamma;
    }

    private static bool IsBuyer(double frequency) => frequency > 0; // false for NaN too

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
