namespace ProfileGrid.Grains.Identity;

/// <summary>Identity resolution (configuration section "ProfileGrid:Identity"); see docs/identity.md.</summary>
public sealed class IdentityOptions
{
    public const string Section = "ProfileGrid:Identity";

    /// <summary>Link identifiers and merge profiles by the rules; off: events go to the profiles they name, nothing merges.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// A secret mixed into the key of the email and phone hashes (with the tenant), so that a leaked hash cannot be matched
    /// against a list of addresses without it. Keep it stable: a new secret makes every known email and phone unknown.
    /// </summary>
    public string? HashSecret { get; set; }

    /// <summary>Identity claims a gateway remembers as done, so that a logged-in user's events do not ask the graph again.</summary>
    public int ClaimCacheSize { get; set; } = 100_000;

    /// <summary>
    /// How often an identifier retries a merge it decided and could not carry out, or a login link whose history check a
    /// crash cut short (a reminder: not more often than the silo's <c>ReminderOptions.MinimumReminderPeriod</c>, a minute
    /// by default).
    /// </summary>
    public TimeSpan MergeRetryInterval { get; set; } = TimeSpan.FromMinutes(1);

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (ClaimCacheSize is < 0 or > 10_000_000)
        {
            problems.Add("ClaimCacheSize must be between 0 and 10,000,000.");
        }

        if (MergeRetryInterval < TimeSpan.FromSeconds(1) || MergeRetryInterval > TimeSpan.FromDays(1))
        {
            problems.Add("MergeRetryInterval must be between 1 second and 1 day.");
        }

        return problems;
    }
}
