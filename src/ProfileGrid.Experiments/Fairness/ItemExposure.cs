using System.Globalization;

namespace ProfileGrid.Experiments.Fairness;

/// <summary>
/// Item-side exposure concentration: the Gini coefficient of impressions over items, the head and long-tail shares,
/// the top items' share and catalog coverage. Items never shown count as zeros when the catalog size is known.
/// </summary>
public static class ItemExposure
{
    /// <summary>Measures how concentrated <paramref name="itemImpressions"/> (item id → times shown) are.</summary>
    /// <exception cref="ArgumentException">A count or the catalog size is negative; the options are invalid.</exception>
    public static ItemExposureAudit Measure(IReadOnlyDictionary<string, long> itemImpressions, long? catalogSize, FairnessOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(itemImpressions);
        options ??= new FairnessOptions();
        FairnessAuditor.ThrowIfInvalid(options);
        if (catalogSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(catalogSize), catalogSize, "The catalog size cannot be negative.");
        }

        var counts = new long[itemImpressions.Count];
        var index = 0;
        foreach (var (item, count) in itemImpressions)
        {
            if (count < 0)
            {
                throw new ArgumentException($"item_impressions[{item}] is {count}; a count cannot be negative.", nameof(itemImpressions));
            }

            counts[index++] = count;
        }

        Array.Sort(counts);
        long distinctShown = counts.LongCount(c => c > 0);
        long total = 0;
        foreach (var count in counts)
        {
            total = checked(total + count);
        }

        string? caveat = null;
        long itemsCounted = counts.Length;
        if (catalogSize is { } catalog)
        {
            if (catalog < counts.Length)
            {
                caveat = $"The catalog size ({catalog}) is below the {counts.Length} items given; the items given count as the catalog.";
            }
            else
            {
                itemsCounted = catalog;
            }
        }

        // Never-shown catalog items are zeros at the bottom of the ascending order: they shift every rank up.
        var zeros = itemsCounted - counts.Length;
        var headItems = HeadSize(options.HeadFraction, itemsCounted);
        var topItems = Math.Min(options.TopItems, itemsCounted);
        double? Share(long items) => total == 0 ? null : (double)SumOfLargest(counts, items) / total;
        var headShare = Share(headItems);
        var fraction = options.HeadFraction.ToString("0.##%", CultureInfo.InvariantCulture);
        var over = catalogSize is not null && caveat is null ? "catalog items (never-shown ones included)" : "items shown";
        return new ItemExposureAudit
        {
            ItemImpressions = total,
            DistinctItemsShown = distinctShown,
            CatalogSize = catalogSize,
            ItemsCounted = itemsCounted,
            Gini = Gini(counts, zeros, total),
            HeadItems = headItems,
            HeadShare = headShare,
            LongTailShare = headShare is null ? null : (double)(total - SumOfLargest(counts, headItems)) / total,
            LongTailDefinition =
                $"Items outside the head, the {headItems} most-shown of {itemsCounted} {over} (the top {fraction}, rounded up); ties at the edge do not change the share.",
            TopItems = topItems,
            TopItemsShare = Share(topItems),
            Coverage = catalogSize is > 0 ? (double)distinctShown / Math.Max(catalogSize.Value, counts.Length) : null,
            Caveat = caveat ?? (total == 0 ? "No item has been shown: the concentration figures are unknown." : null),
        };
    }

    /// <summary>
    /// The standard Gini of values sorted ascending, x(1) &lt;= ... &lt;= x(n): G = 2 Σ i x(i) / (n Σ x) − (n + 1) / n,
    /// with <paramref name="leadingZeros"/> zeros before <paramref name="ascending"/>. Null when nothing was shown.
    /// </summary>
    internal static double? Gini(long[] ascending, long leadingZeros, long total)
    {
        var n = ascending.LongLength + leadingZeros;
        if (n == 0 || total == 0)
        {
            return null;
        }

        // Exact integer weighted sum: a double would round once it passes 2^53 on a large catalog.
        Int128 weighted = 0;
        for (long i = 0; i < ascending.LongLength; i++)
        {
            weighted += (Int128)(leadingZeros + i + 1) * ascending[i];
        }

        return 2 * (double)weighted / ((double)n * total) - (n + 1.0) / n;
    }

    /// <summary>The ceiling of fraction × items, at least 1 when there are items.</summary>
    internal static long HeadSize(double fraction, long items)
    {
        if (items == 0)
        {
            return 0;
        }

        // 0.2 × 35 is 7.000000000000001 in binary: a tolerance keeps an exact product from rounding up to 8.
        var head = (long)Math.Ceiling(fraction * items - 1e-9);
        return Math.Clamp(head, 1, items);
    }

    private static long SumOfLargest(long[] ascending, long items)
    {
        long sum = 0;
        for (long i = ascending.LongLength - 1, taken = 0; i >= 0 && taken < items; i--, taken++)
        {
            sum += ascending[i];
        }

        return sum;
    }
}
