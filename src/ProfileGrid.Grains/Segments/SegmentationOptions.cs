using ProfileGrid.Domain;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Segments;

/// <summary>Segmentation in the grid (configuration section "ProfileGrid:Segmentation").</summary>
public sealed class SegmentationOptions
{
    public const string Section = "ProfileGrid:Segmentation";

    /// <summary>Feature shards per tenant; a user belongs to shard <see cref="Abstractions.Grains.SegmentKeys.ShardOf"/>. Fixed for a deployment.</summary>
    public int Shards { get; set; } = 16;

    /// <summary>
    /// How often each tenant's segmentation retrains on its reminder; zero turns the reminder off (runs on demand only).
    /// Orleans refuses reminder periods below its <c>ReminderOptions.MinimumReminderPeriod</c> (1 minute by default).
    /// </summary>
    public TimeSpan RetrainInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Training samples at most this many vectors across the shards, in proportion to their sizes.</summary>
    public int MaxTrainingRows { get; set; } = 100_000;

    /// <summary>A profile pushes its vector when a feature moved by more than this share (after ageing the last one pushed).</summary>
    public double MaterialChange { get; set; } = 0.01;

    /// <summary>How long a shard batches vector writes and membership-change notifications.</summary>
    public TimeSpan ShardFlushInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often a feature shard asks the profiles whose windowed features (the 365-day counts) have changed since they
    /// last pushed, with no event, to push again (a profile tells when: the midnight UTC its oldest order day leaves
    /// the window). The shard runs the timer only while it holds such an instant; zero turns it off (windowed features
    /// then wait for the profile's next change).
    /// </summary>
    public TimeSpan WindowRefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>At most this many profiles are asked per shard and tick (eight at a time); the rest wait for the next tick.</summary>
    public int WindowRefreshBatch { get; set; } = 1000;

    /// <summary>How long live segment sizes are cached by the segmentation grain.</summary>
    public TimeSpan SizesCacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    // The defaults of a run (overridden per request by the API).
    public string Algorithm { get; set; } = "kmeans";

    public int MinK { get; set; } = 3;

    public int MaxK { get; set; } = 8;

    /// <summary>Feature names; empty uses the default set (<see cref="SegmentationTrainer.DefaultFeatures"/>) with <see cref="Window"/>.</summary>
    public string[] Features { get; set; } = [];

    /// <summary>auto, lifetime or 365d: which frequency and spend the default features count (<see cref="SegmentationSettings.Window"/>).</summary>
    public string Window { get; set; } = "auto";

    /// <summary>Log-transform recency before scaling, as classic RFM analyses do.</summary>
    public bool LogRecency { get; set; } = false;

    /// <summary>Leave out (nearly) constant features and the later of two strongly correlated ones, with a warning each.</summary>
    public bool DropUninformativeFeatures { get; set; } = true;

    public double CorrelationThreshold { get; set; } = 0.95;

    /// <summary>The thresholds segment names are judged by ("ProfileGrid:Segmentation:Labels:DormantAfterDays", ...).</summary>
    public LabelRules Labels { get; set; } = new();

    public NormalizationKind Normalization { get; set; } = NormalizationKind.ZScore;

    public int KMeansInitializations { get; set; } = 5;

    public int SilhouetteSampleSize { get; set; } = 2000;

    public int StabilityRuns { get; set; } = 5;

    public int MapPoints { get; set; } = 1000;

    public int Seed { get; set; } = 42;

    public SegmentationSettings DefaultSettings() => new()
    {
        Algorithm = Algorithm,
        MinK = MinK,
        MaxK = MaxK,
        Features = Features,
        Normalization = Normalization,
        KMeansInitializations = KMeansInitializations,
        SilhouetteSampleSize = SilhouetteSampleSize,
        StabilityRuns = StabilityRuns,
        MapPoints = MapPoints,
        Seed = Seed,
        Window = Window,
        LogRecency = LogRecency,
        DropUninformativeFeatures = DropUninformativeFeatures,
        CorrelationThreshold = CorrelationThreshold,
        LabelRules = Labels,
    };

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Shards is < 1 or > 1024)
        {
            problems.Add("Shards must be between 1 and 1024.");
        }

        if (RetrainInterval < TimeSpan.Zero || (RetrainInterval > TimeSpan.Zero && RetrainInterval < TimeSpan.FromSeconds(1)))
        {
            problems.Add("RetrainInterval must be zero (off) or at least 1 second.");
        }

        if (MaxTrainingRows < 100)
        {
            problems.Add("MaxTrainingRows must be at least 100.");
        }

        if (MaterialChange is < 0 or >= 1 || double.IsNaN(MaterialChange))
        {
            problems.Add("MaterialChange must be in [0, 1).");
        }

        if (ShardFlushInterval < TimeSpan.FromMilliseconds(10))
        {
            problems.Add("ShardFlushInterval must be at least 10 ms.");
        }

        if (WindowRefreshInterval < TimeSpan.Zero || (WindowRefreshInterval > TimeSpan.Zero && WindowRefreshInterval < TimeSpan.FromMilliseconds(10)))
        {
            problems.Add("WindowRefreshInterval must be zero (off) or at least 10 ms.");
        }

        if (WindowRefreshBatch is < 1 or > 100_000)
        {
            problems.Add("WindowRefreshBatch must be between 1 and 100000.");
        }

        if (SizesCacheDuration < TimeSpan.Zero)
        {
            problems.Add("SizesCacheDuration must not be negative.");
        }

        problems.AddRange(DefaultSettings().Validate(ProfileFeatures.All, 0).Select(p => "default " + p));
        return problems;
    }
}
