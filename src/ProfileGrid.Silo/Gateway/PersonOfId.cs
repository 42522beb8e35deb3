using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Identity;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The person a user id answers as when it has nothing of its own to show: the profile it was merged into, or, for a
/// visitor's <c>anon:</c> id that a login linked before the visitor sent anything, the person the login named. Asked
/// only on the "not found" paths of reads (profile, segment, identity), where it costs a grain call or two; a read that
/// finds its profile or segment asks nothing more.
/// </summary>
public static class PersonOfId
{
    /// <summary>The person's canonical user id, or null when <paramref name="userId"/> is neither merged nor linked.</summary>
    public static async Task<string?> FindAsync(IGrainFactory grains, string tenant, string userId)
    {
        var canonical = await grains.GetGrain<IIdentityGrain>(new ProfileKey(tenant, userId).ToString()).CanonicalAsync();
        if (canonical != userId)
        {
            return canonical;
        }

        if (!AnonymousProfiles.IsAnonymous(userId) || userId.Length == AnonymousProfiles.Prefix.Length)
        {
            return null;
        }

        var identifier = grains.GetGrain<IIdentifierGrain>(
            new ProfileKey(tenant, IdentifierKinds.Name(IdentifierKinds.Anonymous, userId[AnonymousProfiles.Prefix.Length..])).ToString());
        if (await identifier.OwnerAsync() is not { } owner || AnonymousProfiles.IsAnonymous(owner))
        {
            return null;
        }

        return await grains.GetGrain<IIdentityGrain>(new ProfileKey(tenant, owner).ToString()).CanonicalAsync();
    }
}
