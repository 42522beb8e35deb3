namespace ProfileGrid.Simulator;

/// <summary>
/// The behavior a simulated user was planted with: the ground truth that segmentation should rediscover.
/// </summary>
public enum UserType
{
    /// <summary>About 10%: frequent sessions all year, many purchases of pricier products, app and web.</summary>
    HighValue,

    /// <summary>
    /// About 45%: customers for months (first seen 60+ days ago), occasional sessions with the last one within about
    /// 45 days, at least one small purchase, mostly web.
    /// </summary>
    Casual,

    /// <summary>About 20%: first seen within the last 14 days, a few sessions, exactly one (first) purchase.</summary>
    New,

    /// <summary>About 20%: active and bought at least once, then nothing in the last 180 days or more.</summary>
    Dormant,

    /// <summary>About 5%: many views and searches, almost no purchases.</summary>
    Browser,
}
