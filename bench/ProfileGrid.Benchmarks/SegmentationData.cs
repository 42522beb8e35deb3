using System.Buffers.Binary;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// Seeded RFM-like feature vectors for the segmentation benchmark, in the column order of the grid's segmentation
/// features, drawn from five planted user types (the simulator's: high-value, casual, new, dormant, browser).
/// Money and counts are log-normal, so the heavy tails the normaliser's log1p step exists for are there.
/// </summary>
public static class SegmentationData
{
    public static readonly string[] Features =
    [
        "recency_days", "frequency", "monetary", "average_order_value", "engagement_velocity", "sessions", "tenure_days", "category_diversity",
    ];

    /// <summary>The columns the normaliser log1p-transforms before the z-score.</summary>
    public static readonly bool[] HeavyTailed = [false, true, true, true, true, true, false, false];

    public static readonly string[] UserTypes = ["high-value", "casual", "new", "dormant", "browser"];

    // Cumulative shares of the user types above: 8% high-value, 37% casual, 15% new, 20% dormant, 20% browser.
    private static readonly double[] CumulativeShare = [0.08, 0.45, 0.60, 0.80, 1.00];

    public static double[][] Generate(int users, int seed)
    {
        var random = new Random(seed);
        var rows = new double[users][];
        for (var i = 0; i < users; i++)
        {
            var draw = random.NextDouble();
            var type = Array.FindIndex(CumulativeShare, share => draw < share);
            rows[i] = User(type, random);
        }

        return rows;
    }

    private static double[] User(int type, Random random)
    {
        // Per type: recency, orders, order value, sessions per week, sessions, tenure, categories.
        double recency, orders, orderValue, velocity, sessions, tenure, categories;
        switch (type)
        {
            case 0: // high-value: frequent, large baskets, many categories, long tenure
                recency = Exponential(random, 6);
                orders = Math.Max(1, Math.Round(LogNormal(random, 22, 0.5)));
                orderValue = LogNormal(random, 120, 0.45);
                velocity = LogNormal(random, 3.5, 0.5);
                sessions = LogNormal(random, 160, 0.5);
                tenure = Uniform(random, 365, 1800);
                categories = random.Next(4, 11);
                break;
            case 1: // casual: a few orders a year, average baskets
                recency = Exponential(random, 35);
                orders = Math.Max(1, Math.Round(LogNormal(random, 4, 0.6)));
                orderValue = LogNormal(random, 55, 0.5);
                velocity = LogNormal(random, 0.8, 0.6);
                sessions = LogNormal(random, 35, 0.6);
                tenure = Uniform(random, 120, 1400);
                categories = random.Next(1, 6);
                break;
            case 2: // new: weeks old, at most a first order, curious
                recency = Exponential(random, 4);
                orders = random.NextDouble() < 0.55 ? 1 : 0;
                orderValue = LogNormal(random, 45, 0.6);
                velocity = LogNormal(random, 2.5, 0.6);
                sessions = LogNormal(random, 6, 0.5);
                tenure = Uniform(random, 1, 45);
                categories = random.Next(1, 4);
                break;
            case 3: // dormant: bought before, gone for months
                recency = Uniform(random, 120, 420) + Exponential(random, 30);
                orders = Math.Max(1, Math.Round(LogNormal(random, 3, 0.7)));
                orderValue = LogNormal(random, 42, 0.5);
                velocity = LogNormal(random, 0.04, 0.7);
                sessions = LogNormal(random, 14, 0.7);
                tenure = Uniform(random, 400, 2200);
                categories = random.Next(1, 5);
                break;
            default: // browser: visits often, rarely buys, looks at everything
                recency = Exponential(random, 3);
                orders = random.NextDouble() < 0.12 ? 1 : 0;
                orderValue = LogNormal(random, 30, 0.6);
                velocity = LogNormal(random, 4, 0.5);
                sessions = LogNormal(random, 70, 0.6);
                tenure = Uniform(random, 30, 900);
                categories = random.Next(3, 10);
                break;
        }

        if (orders == 0)
        {
            orderValue = 0;
        }

        var monetary = orders * orderValue * LogNormal(random, 1, 0.1);
        return [Math.Round(recency, 1), orders, Math.Round(monetary, 2), Math.Round(orderValue, 2), velocity, Math.Round(sessions), Math.Round(tenure), categories];
    }

    private static double Uniform(Random random, double from, double to) => from + (to - from) * random.NextDouble();

    private static double Exponential(Random random, double mean) => -mean * Math.Log(1 - random.NextDouble());

    private static double LogNormal(Random random, double median, double sigma) => median * Math.Exp(sigma * Gaussian(random));

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    /// <summary>Rows as little-endian float64, row after row, no header: numpy.fromfile(path, "&lt;f8").reshape(-1, d).</summary>
    public static void Write(string path, double[][] rows)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var buffer = new byte[rows[0].Length * sizeof(double)];
        foreach (var row in rows)
        {
            for (var j = 0; j < row.Length; j++)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(j * sizeof(double)), row[j]);
            }

            file.Write(buffer);
        }
    }

    public static double[][] Read(string path, int dimensions)
    {
        var rowBytes = dimensions * sizeof(double);
        var length = new FileInfo(path).Length;
        if (length % rowBytes != 0)
        {
            throw new InvalidDataException($"{path}: {length} bytes is not a whole number of {dimensions}-column rows.");
        }

        var rows = new double[length / rowBytes][];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var buffer = new byte[rowBytes];
        for (var i = 0; i < rows.Length; i++)
        {
            file.ReadExactly(buffer);
            var row = rows[i] = new double[dimensions];
            for (var j = 0; j < dimensions; j++)
            {
                row[j] = BinaryPrimitives.ReadDoubleLittleEndian(buffer.AsSpan(j * sizeof(double)));
            }
        }

        return rows;
    }
}
