using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Identity;
using ProfileGrid.Domain;
using ProfileGrid.Grains;
using ProfileGrid.Grains.Identity;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The gateway's side of identity resolution: the identifiers a request's events show (an anonymous id beside a user
/// id, an identify event's hashed email and phone and its CRM id) are claimed in the identity graph before the events
/// are recorded, so a merge is decided before the acknowledgement and a retry of the request decides nothing new. A
/// claim done once is remembered per silo (bounded), so a logged-in user's stream does not ask the graph again.
/// </summary>
public sealed partial class IdentityResolver(
    IClusterClient cluster, IOptions<IdentityOptions> options, Hosting.HostSettings settings, TimeProvider clock,
    ProfileGrid.Grains.Privacy.PrivacyFilters privacy, ILogger<IdentityResolver> logger)
{
    private readonly IdentityOptions _options = options.Value;

    // Merges read histories from the event log and forward a merged profile's records from it: the stream ingest path
    // has neither, so there nothing is merged (docs/identity.md).
    private readonly bool _enabled = options.Value.Enabled && !settings.UsesStreams;
    private readonly ConcurrentDictionary<(string Tenant, string Identifier, string Profile), byte> _done = new();

    public bool Enabled => _enabled;

    /// <summary>Claims every identifier the events show, each once per request: related claims in order, the rest side by side.</summary>
    public async Task ClaimAsync(IEnumerable<UserEvent> events)
    {
        if (!_enabled)
        {
            return;
        }

        var claims = new List<IdentityClaim>();
        var seen = new HashSet<(string, string, string)>();
        var now = clock.GetUtcNow();
        // The silo's privacy filters know erasures at once (a tenant without any costs one field read). An event the
        // erasure covers (dated before it: a client retrying an old request) is dropped by the log's readers, and so are
        // its claims here: its login would otherwise merge a device's history into the erased user and bring them back.
        // A claim remembered here may be of a user erased since (through any silo): the graph forgot it, so it is asked again.
        var filters = new Dictionary<string, ProfileGrid.Grains.Privacy.PrivacyFilter>(StringComparer.Ordinal);
        foreach (var tenant in events.Select(e => e.Tenant).Distinct(StringComparer.Ordinal))
        {
            filters[tenant] = await privacy.ForTenantAsync(tenant);
        }

        foreach (var e in events)
        {
            var filter = filters[e.Tenant];
            if (!filter.IsEmpty && filter.IsErased(e.UserId, e.OccurredAt))
            {
                continue;
            }

            if (e.AnonymousId is { } anonymous && !AnonymousProfiles.IsAnonymous(e.UserId)
                && (filter.IsEmpty || !filter.IsErased(AnonymousProfiles.Prefix + anonymous, e.OccurredAt)))
            {
                Add(e, IdentifierKinds.Anonymous, anonymous);
            }

            if (e.Identifiers is { } ids)
            {
                Add(e, IdentifierKinds.Crm, ids.CrmId);
                Add(e, IdentifierKinds.Email, ids.EmailHash);
                Add(e, IdentifierKinds.Phone, ids.PhoneHash);
            }
        }

        // Claims that share a claimant or an identifier go one after another, in the request's order: an email and a CRM id
        // of one event may name the same merge, which must be decided once, and of two users claiming one email the first
        // owns it. Unrelated logins go side by side, as claims of concurrent requests do: a login whose visitor has history
        // writes a merge decision, and a request of 120 first logins one after another took 37 s (probe52).
        await Parallel.ForEachAsync(IndependentGroups(claims), new ParallelOptions { MaxDegreeOfParallelism = MaxClaimsAtOnce },
            async (group, _) => await ClaimInOrderAsync(group));

        void Add(UserEvent e, string kind, string? value)
        {
            if (string.IsNullOrEmpty(value) || !seen.Add((e.Tenant, IdentifierKinds.Name(kind, value), e.UserId))
                || (_done.ContainsKey((e.Tenant, IdentifierKinds.Name(kind, value), e.UserId)) && !ErasedSince(e.Tenant, e.UserId, kind, value)))
            {
                return;
            }

            claims.Add(new IdentityClaim(e.Tenant, kind, value, e.UserId, e.EventId, WireNames.Of(e.Source), now, e.OccurredAt));
        }

        bool ErasedSince(string tenant, string userId, string kind, string value) =>
            filters.TryGetValue(tenant, out var filter) && !filter.IsEmpty
            && (filter.ErasedBefore(userId) is not null
                || (kind == IdentifierKinds.Anonymous && filter.ErasedBefore(AnonymousProfiles.Prefix + value) is not null));
    }

    /// <summary>How many independent claims of one request are in flight at once.</summary>
    private const int MaxClaimsAtOnce = 32;

    private async Task ClaimInOrderAsync(List<IdentityClaim> group)
    {
        foreach (var claim in group)
        {
            var identifier = IdentifierKinds.Name(claim.Kind, claim.Value);
            var outcome = await cluster.Reference<IIdentifierGrain>(new ProfileKey(claim.Tenant, identifier).ToString()).ClaimAsync(claim);
            if (_options.ClaimCacheSize > 0)
            {
                if (_done.Count >= _options.ClaimCacheSize)
                {
                    _done.Clear();
                }

                _done.TryAdd((claim.Tenant, identifier, claim.ProfileUserId), 0);
            }

            if (outcome is ClaimOutcome.Merged)
            {
                LogMerged(claim.Tenant, claim.Kind);
            }
        }
    }

    /// <summary>
    /// The claims split into groups that share no claimant, no identifier and no visitor a login merges (connected
    /// components; a tenant's email, CRM and phone claims all in one), each in the request's order, the groups in the
    /// order of their first claim.
    /// </summary>
    public static List<List<IdentityClaim>> IndependentGroups(IReadOnlyList<IdentityClaim> claims)
    {
        var parent = Enumerable.Range(0, claims.Count).ToArray();
        var firstBy = new Dictionary<(string Tenant, string Key), int>();
        for (var i = 0; i < claims.Count; i++)
        {
            var claim = claims[i];
            Join(i, (claim.Tenant, "profile\n" + claim.ProfileUserId));
            Join(i, (claim.Tenant, "identifier\n" + IdentifierKinds.Name(claim.Kind, claim.Value)));
            if (claim.Kind == IdentifierKinds.Anonymous)
            {
                // A login merges the visitor's own profile: its claims (an identify event's email sent as anon:X) stay in order
                // with it (review55).
                Join(i, (claim.Tenant, "profile\n" + AnonymousProfiles.Prefix + claim.Value));
            }
            else
            {
                // Emails, CRM ids and phones join known users to each other, in chains a request may hold in full (a CRM
                // export: A and B share an email, B and C a CRM id): which merge comes first decides who stays canonical,
                // so they all keep the request's order, as before. Only logins go side by side.
                Join(i, (claim.Tenant, "known users"));
            }
        }

        var groups = new List<List<IdentityClaim>>();
        var groupOf = new Dictionary<int, List<IdentityClaim>>();
        for (var i = 0; i < claims.Count; i++)
        {
            var root = Find(i);
            if (!groupOf.TryGetValue(root, out var group))
            {
                groupOf[root] = group = [];
                groups.Add(group);
            }

            group.Add(claims[i]);
        }

        return groups;

        void Join(int claim, (string, string) key)
        {
            if (firstBy.TryGetValue(key, out var other))
            {
                parent[Find(claim)] = Find(other);
            }
            else
            {
                firstBy[key] = claim;
            }
        }

        int Find(int i)
        {
            while (parent[i] != i)
            {
                i = parent[i] = parent[parent[i]];
            }

            return i;
        }
    }

    [LoggerMessage(EventId = 1030, Level = LogLevel.Debug, Message = "Identity: a {Kind} claim in tenant {Tenant} merged two profiles")]
    private partial void LogMerged(string tenant, string kind);
}
