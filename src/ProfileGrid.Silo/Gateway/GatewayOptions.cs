namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Limits of the ingestion gateway (configuration section "ProfileGrid:Gateway"). A request over a request-level
/// limit is refused whole; an event over an event-level limit is rejected alone, with its index and field.
/// </summary>
public sealed class GatewayOptions
{
    public const string Section = "ProfileGrid:Gateway";

    /// <summary>Events per IngestEvents request.</summary>
    public int MaxEventsPerRequest { get; set; } = 1000;

    /// <summary>Bytes per request message (gRPC) or body (REST).</summary>
    public int MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Entries in a custom event's properties, and in identify traits.</summary>
    public int MaxProperties { get; set; } = 32;

    /// <summary>Characters in ids, names, codes, categories, queries and property keys and values.</summary>
    public int MaxStringLength { get; set; } = 256;

    /// <summary>Characters in URLs, referrers and user agents.</summary>
    public int MaxLongStringLength { get; set; } = 2048;

    /// <summary>How far in the future occurred_at may be, for clock skew between a device and the server.</summary>
    public TimeSpan MaxFutureSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How far in the past occurred_at may be.</summary>
    public TimeSpan MaxEventAge { get; set; } = TimeSpan.FromDays(3 * 365);

    public int MaxPurchaseLines { get; set; } = 200;

    public int MaxQuantity { get; set; } = 100_000;

    /// <summary>The most items one impression may list (a page of recommendations, a carousel).</summary>
    public int MaxImpressionItems { get; set; } = 100;

    public decimal MaxUnitPrice { get; set; } = 10_000_000m;

    /// <summary>
    /// Upper bound on the serialized events of one stream item (on Azure Queue in Orleans' encoding, as the message carries
    /// them). An Azure Queue message holds 64 KiB of base64, so a user's events from one request are split into items below this size.
    /// </summary>
    public int MaxStreamItemBytes { get; set; } = 24 * 1024;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MaxEventsPerRequest < 1)
        {
            problems.Add("MaxEventsPerRequest must be at least 1.");
        }

        if (MaxRequestBytes < 1024)
        {
            problems.Add("MaxRequestBytes must be at least 1024.");
        }

        if (MaxProperties < 0)
        {
            problems.Add("MaxProperties must not be negative.");
        }

        if (MaxStringLength < 16)
        {
            problems.Add("MaxStringLength must be at least 16.");
        }

        if (MaxLongStringLength < MaxStringLength)
        {
            problems.Add("MaxLongStringLength must be at least MaxStringLength.");
        }

        if (MaxFutureSkew < TimeSpan.Zero)
        {
            problems.Add("MaxFutureSkew must not be negative.");
        }

        if (MaxEventAge <= TimeSpan.Zero)
        {
            problems.Add("MaxEventAge must be positive.");
        }

        if (MaxImpressionItems < 1)
        {
            problems.Add("MaxImpressionItems must be at least 1.");
        }

        if (MaxStreamItemBytes is < 1024 or > 40 * 1024)
        {
            problems.Add("MaxStreamItemBytes must be between 1024 and 40960 (an Azure Queue message holds 48 KiB before base64, less the stream's envelope).");
        }

        return problems;
    }
}
