namespace ProfileGrid.Silo.Access;

/// <summary>API keys, their cache and rate limits (configuration section "ProfileGrid:Auth"); docs/security.md.</summary>
public sealed class AuthSettings
{
    public const string Section = "ProfileGrid:Auth";

    /// <summary>Require an API key on every endpoint but health, metrics and the dashboard's static files. On by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How long a silo trusts a key it has checked (and an unknown key's refusal). This bounds how long a revoked key keeps
    /// working on a silo that is not the one that revoked it.
    /// </summary>
    public TimeSpan CacheFor { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Sustained requests per second per key (the token bucket's refill), unless the key carries its own.</summary>
    public int PermitsPerSecond { get; set; } = 1_000;

    /// <summary>Requests a key may make at once above its rate (the token bucket's size), unless the key carries its own.</summary>
    public int Burst { get; set; } = 2_000;

    /// <summary>
    /// A file holding an operator key (admin scope, every tenant). When it does not exist, the silo creates a key and writes
    /// it there, readable by its owner only; when it exists, the key it holds is registered (again). Empty: no bootstrap key.
    /// </summary>
    public string? BootstrapKeyFile { get; set; }

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (CacheFor < TimeSpan.Zero || CacheFor > TimeSpan.FromMinutes(5))
        {
            problems.Add($"{Section}:CacheFor must be between 0 and 5 minutes (it bounds how long a revoked key keeps working).");
        }

        if (PermitsPerSecond < 1)
        {
            problems.Add($"{Section}:PermitsPerSecond must be at least 1.");
        }

        if (Burst < 1)
        {
            problems.Add($"{Section}:Burst must be at least 1.");
        }

        return problems;
    }
}
