namespace ProfileGrid.Recommendations.Rules;

/// <summary>
/// The bounds rule validation enforces (docs/recommendation-rules.md lists them). They keep a tenant's rule set small
/// enough to store as one state record and to apply in microseconds per request.
/// </summary>
public static class RuleLimits
{
    /// <summary>Rules per tenant (enabled or not).</summary>
    public const int MaxRules = 200;

    /// <summary>Rule ids, as other ids of the grid are bounded.</summary>
    public const int MaxRuleIdLength = 128;

    /// <summary>Item ids, as catalog item ids are bounded.</summary>
    public const int MaxItemIdLength = 256;

    public const int MaxNameLength = 128;

    public const int MaxDescriptionLength = 1024;

    /// <summary>Segment ids and labels.</summary>
    public const int MaxSegmentLength = 128;

    /// <summary>Items one pin rule places.</summary>
    public const int MaxPinnedItems = 20;

    /// <summary>The furthest position a pin may name (1-based).</summary>
    public const int MaxPinPosition = 100;

    /// <summary>Item ids one exclude rule lists.</summary>
    public const int MaxExcludedItems = 1000;

    /// <summary>Categories, and tags, one exclude rule lists (each).</summary>
    public const int MaxExcludedCodes = 100;

    /// <summary>Category codes (as the gateway bounds strings).</summary>
    public const int MaxCategoryLength = 256;

    /// <summary>Tags (as catalog tags are bounded).</summary>
    public const int MaxTagLength = 64;

    /// <summary>Boost factors lie in [MinFactor, MaxFactor]: a wider factor is a pin or an exclusion in disguise.</summary>
    public const double MinFactor = 0.001;

    public const double MaxFactor = 1000;

    public const int MaxPerCategory = 100;

    public const int MaxSeenWithinDays = 365;

    /// <summary>Rule priorities lie in ±MaxPriority.</summary>
    public const int MaxPriority = 1_000_000;
}
