using Grpc.Core;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator;

/// <summary>Reads many profiles through the public API, a page at a time, the way a dashboard or a test would.</summary>
public static class ProfileReader
{
    /// <summary>The gateway's limit of ids per GetProfiles request.</summary>
    public const int PageSize = 100;

    private const int MaxAttempts = 20;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long one page may take. A CI run once waited 10 minutes on a page whose call never answered while the silo
    /// answered every other read: a page that has not answered by then is asked again.
    /// </summary>
    private static readonly TimeSpan PageDeadline = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Every existing profile among <paramref name="userIds"/>, by user id. Unavailable answers (a silo leaving the
    /// cluster) and pages past their deadline are retried, as any client should.
    /// </summary>
    public static async Task<Dictionary<string, Profile>> GetAllAsync(
        ProfileGateway.ProfileGatewayClient client, string tenant, IEnumerable<string> userIds, CancellationToken cancellationToken = default)
    {
        var profiles = new Dictionary<string, Profile>(StringComparer.Ordinal);
        foreach (var page in userIds.Chunk(PageSize))
        {
            var response = await GetPageAsync(client, new GetProfilesRequest { Tenant = tenant, UserIds = { page } }, cancellationToken).ConfigureAwait(false);
            foreach (var profile in response.Profiles)
            {
                profiles[profile.UserId] = profile;
            }
        }

        return profiles;
    }

    private static async Task<GetProfilesResponse> GetPageAsync(
        ProfileGateway.ProfileGatewayClient client, GetProfilesRequest request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await client.GetProfilesAsync(request, deadline: DateTime.UtcNow + PageDeadline, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && attempt < MaxAttempts
                && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(RetryDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
