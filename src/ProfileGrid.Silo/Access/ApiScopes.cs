using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Silo.Access;

/// <summary>The scopes a key can hold; docs/security.md has the table of every endpoint and the scope it needs.</summary>
public static class ApiScopes
{
    /// <summary>Send events and write user data (attributes, preferences).</summary>
    public const string Ingest = "ingest";

    /// <summary>Read profiles, segments, recommendations, experiment results, stats.</summary>
    public const string Read = "read";

    /// <summary>Manage the tenant: experiments, rules, catalog, segment runs, training. With every tenant: the operator surface and keys.</summary>
    public const string Admin = "admin";

    public static IReadOnlyList<string> All { get; } = [Ingest, Read, Admin];
}

/// <summary>The key a request carries, once checked: what it may do and where.</summary>
public sealed class ApiKeyIdentity(ApiKeyRecord key)
{
    public ApiKeyRecord Key { get; } = key;

    public string Id => Key.Id;

    public bool Has(string scope) => Key.Scopes.Contains(scope, StringComparer.Ordinal);

    /// <summary>An operator key: admin scope on every tenant.</summary>
    public bool IsOperator => Key.AllTenants && Has(ApiScopes.Admin);

    /// <summary>Whether the key is bound to <paramref name="tenant"/> (compared exactly, as the tenant is stored).</summary>
    public bool Allows(string tenant) => Key.AllTenants || Key.Tenants.Contains(tenant, StringComparer.Ordinal);
}
