using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Identity;
using ProfileGrid.Silo.Access;
using static ProfileGrid.Silo.Gateway.RestEndpoints;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The identity graph over REST (JSON, camelCase; docs/identity.md): a profile's identifiers and merge history, one
/// merge's record, and the unmerge that reverses it.
/// </summary>
public static class IdentityApi
{
    public static IEndpointRouteBuilder MapIdentityApi(this IEndpointRouteBuilder routes)
    {
        var identity = routes.MapGroup("/v1/tenants/{tenant}/identity");
        identity.MapGet("/{userId}", GetIdentityAsync);
        identity.MapGet("/merges/{mergeId}", GetMergeAsync);
        identity.MapPost("/merges/{mergeId}/unmerge", UnmergeAsync);
        return routes;
    }

    /// <summary>The profile's identifiers (email and phone as hashes), where it is merged, what is merged into it, every merge it took part in.</summary>
    private static async Task<IResult> GetIdentityAsync(HttpContext http, string tenant, string userId, IGrainFactory grains, EventValidator validator)
    {
        (tenant, userId) = (GatewayPaths.FromRawPath(http, "tenant") ?? tenant, GatewayPaths.FromRawPath(http, "userId") ?? userId);
        if (!validator.TryValidateKey(tenant, userId, out var error))
        {
            return TypedResults.BadRequest(new ErrorBody(error!.ToString()));
        }

        var key = new ProfileKey(tenant, userId).ToString();
        var view = await grains.GetGrain<IIdentityGrain>(key).GetAsync();
        if (view is { MergedInto: null, Identifiers: [], Members: [], Merges: [], Conflicts: [] }
            && await grains.GetGrain<IUserProfileGrain>(key).GetViewAsync(null) is null)
        {
            // Nothing known of the user (never seen, or erased): as the profile read answers, not an empty record that
            // reads as "a user without identifiers". A visitor's id a login linked before it sent anything is known: its
            // reads answer as the person, and this says whom (probe52 found a 404 here).
            if (await PersonOfId.FindAsync(grains, tenant, userId) is { } person)
            {
                return TypedResults.Json(view with { LinkedTo = person }, StatsApi.Json);
            }

            return TypedResults.NotFound(new ErrorBody($"No profile or identity record for user '{userId}' in tenant '{tenant}'."));
        }

        return TypedResults.Json(view, StatsApi.Json);
    }

    private static async Task<IResult> GetMergeAsync(HttpContext http, string tenant, string mergeId, IGrainFactory grains, EventValidator validator)
    {
        tenant = GatewayPaths.FromRawPath(http, "tenant") ?? tenant;
        if (Refused(tenant, mergeId, validator) is { } refused)
        {
            return refused;
        }

        return await grains.GetGrain<IMergeIndexGrain>(new ProfileKey(tenant, mergeId).ToString()).GetAsync() is { } record
            ? TypedResults.Json(record, StatsApi.Json)
            : NoMerge(tenant, mergeId);
    }

    /// <summary>Reverses one merge: both profiles as they would be had it never happened; the record stays, marked reversed.</summary>
    private static async Task<IResult> UnmergeAsync(HttpContext http, string tenant, string mergeId, IGrainFactory grains, EventValidator validator)
    {
        tenant = GatewayPaths.FromRawPath(http, "tenant") ?? tenant;
        if (Refused(tenant, mergeId, validator) is { } refused)
        {
            return refused;
        }

        if (await grains.GetGrain<IMergeIndexGrain>(new ProfileKey(tenant, mergeId).ToString()).GetAsync() is not { } record)
        {
            return NoMerge(tenant, mergeId);
        }

        var by = http.Features.Get<ApiKeyIdentity>()?.Id ?? "no-key";
        var reversed = await grains.GetGrain<IIdentityGrain>(new ProfileKey(tenant, record.Into).ToString()).ReleaseAsync(mergeId, "key:" + by);
        return reversed is null ? NoMerge(tenant, mergeId) : TypedResults.Json(reversed, StatsApi.Json);
    }

    private static IResult? Refused(string tenant, string mergeId, EventValidator validator) =>
        !validator.TryValidateTenant(tenant, out var error) ? TypedResults.BadRequest(new ErrorBody(error!.ToString()))
        : mergeId.Length is 0 or > 64 || !mergeId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') ? TypedResults.BadRequest(new ErrorBody($"mergeId: '{mergeId}' is not a merge id"))
        : null;

    private static IResult NoMerge(string tenant, string mergeId) => TypedResults.NotFound(new ErrorBody($"No merge '{mergeId}' in tenant '{tenant}'."));
}
