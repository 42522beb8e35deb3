using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Domain;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;
using ProfileGrid.Grains.Privacy;
using ProfileGrid.Grains.Segments;
using static ProfileGrid.Silo.Gateway.RestEndpoints;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// A user's rights over their data (docs/privacy.md): <c>DELETE /v1/tenants/{t}/users/{u}</c> erases the user everywhere
/// and answers a receipt; <c>GET /v1/tenants/{t}/users/{u}/export</c> answers everything held about them as JSON. Both
/// need an admin key of the tenant (AccessPolicy).
/// </summary>
public static class PrivacyApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The ledger's timer retries a pending erasure every 15 seconds (docs/privacy.md).</summary>
    private const string PendingErasureRetrySeconds = "15";

    public static IEndpointRouteBuilder MapPrivacyApi(this IEndpointRouteBuilder routes)
    {
        routes.MapDelete("/v1/tenants/{tenant}/users/{userId}", EraseAsync);
        routes.MapGet("/v1/tenants/{tenant}/users/{userId}/export", ExportAsync);
        return routes;
    }

    private static async Task<IResult> EraseAsync(HttpContext http, string tenant, string userId, EventValidator validator, UserErasure erasure, CancellationToken cancellationToken)
    {
        (tenant, userId) = (GatewayPaths.FromRawPath(http, "tenant") ?? tenant, GatewayPaths.FromRawPath(http, "userId") ?? userId);
        if (!validator.TryValidateKey(tenant, userId, out var error))
        {
            return TypedResults.BadRequest(new ErrorBody(error!.ToString()));
        }

        // Not cancelled with the request: once the ledger holds the erasure it runs to the end (a retry resumes it anyway).
        var receipt = await erasure.EraseAsync(tenant, userId, CancellationToken.None);
        if (!receipt.Complete)
        {
            // Pending, as gRPC's Unavailable says: the user is hidden already and the ledger finishes the rest by itself; a
            // retry finishes it now.
            http.Response.Headers.RetryAfter = PendingErasureRetrySeconds;
            return TypedResults.Json(receipt, Json, statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Json(receipt, Json);
    }

    private static async Task<IResult> ExportAsync(
        HttpContext http, string tenant, string userId, EventValidator validator, UserErasure erasure, IGrainFactory grains, IServiceProvider services,
        IOptions<IngestOptions> ingest, IOptions<SegmentationOptions> segmentation, TimeProvider clock, CancellationToken cancellationToken)
    {
        (tenant, userId) = (GatewayPaths.FromRawPath(http, "tenant") ?? tenant, GatewayPaths.FromRawPath(http, "userId") ?? userId);
        if (!validator.TryValidateKey(tenant, userId, out var error))
        {
            return TypedResults.BadRequest(new ErrorBody(error!.ToString()));
        }

        if (RestJsonGuard.UnexpectedQueryParameter(http) is { } unexpected)
        {
            return TypedResults.BadRequest(new ErrorBody(unexpected.ToString()));
        }

        // The person the id belongs to, as an erasure of it would find them: the canonical profile, the profiles merged
        // into it and the visitors their logins linked, never a visitor that is someone else's (docs/identity.md).
        var person = await erasure.PersonOfAsync(tenant, userId);
        var key = new ProfileKey(tenant, person.Canonical).ToString();
        var view = await grains.GetGrain<IUserProfileGrain>(key).GetViewAsync();
        var linked = new JsonArray();
        foreach (var other in person.UserIds.Where(u => !string.Equals(u, person.Canonical, StringComparison.Ordinal)))
        {
            var otherView = await grains.GetGrain<IUserProfileGrain>(new ProfileKey(tenant, other).ToString()).GetViewAsync();
            linked.Add(new JsonObject
            {
                ["userId"] = other,
                ["profile"] = otherView is null ? null : JsonNode.Parse(ProfileJson.Serialize(otherView)),
            });
        }

        var anonymous = person.UserIds
            .Where(u => AnonymousProfiles.IsAnonymous(u))
            .Select(u => u[AnonymousProfiles.Prefix.Length..])
            .ToArray();
        var shard = SegmentKeys.Shard(tenant, SegmentKeys.ShardOf(key, segmentation.Value.Shards));
        var segment = await grains.GetGrain<IFeatureShardGrain>(shard).GetSegmentAsync(key);
        var (events, fromLake, fromLog) = await EventsAsync(services, ingest.Value.Partitions, tenant, [.. person.UserIds], cancellationToken);
        if (view is null && events.Count == 0)
        {
            return TypedResults.NotFound(new ErrorBody($"Nothing is held about user '{userId}' in tenant '{tenant}'."));
        }

        var export = new JsonObject
        {
            ["tenant"] = tenant,
            ["userId"] = userId,
            ["person"] = person.Canonical,
            ["exportedAt"] = clock.GetUtcNow(),
            ["consent"] = view is null ? null : new JsonObject
            {
                ["personalization"] = view.Preferences.PersonalizationOptIn,
                ["email"] = view.Preferences.EmailOptIn,
                ["sms"] = view.Preferences.SmsOptIn,
            },
            ["profile"] = view is null ? null : JsonNode.Parse(ProfileJson.Serialize(view)),
            ["feedback"] = view is null ? null : JsonSerializer.SerializeToNode(view.Feedback, Json),
            ["identityLinks"] = new JsonObject
            {
                ["anonymousIds"] = new JsonArray([.. anonymous.Select(a => (JsonNode?)a)]),
                ["profiles"] = linked,
            },
            ["segment"] = segment is null ? null : JsonSerializer.SerializeToNode(segment, Json),
            ["eventCounts"] = new JsonObject { ["lake"] = fromLake, ["log"] = fromLog },
            ["events"] = JsonSerializer.SerializeToNode(events),
        };
        return TypedResults.Text(export.ToJsonString(Json), "application/json");
    }

    /// <summary>The users' raw events: the lake's rows, then the log's records past each partition's archive watermark, in log order.</summary>
    private static async Task<(List<LakeEventRow> Rows, int FromLake, int FromLog)> EventsAsync(
        IServiceProvider services, int partitions, string tenant, string[] userIds, CancellationToken cancellationToken)
    {
        if (LakeArchiving.ArchiverOf(services) is not { } archiver)
        {
            return ([], 0, 0);
        }

        var reader = services.GetRequiredService<LakeReader>();
        var involved = userIds.Select(u => ProfileBuckets.LogPartition(new ProfileKey(tenant, u).ToString(), partitions)).Distinct().ToList();
        for (var attempt = 1; ; attempt++)
        {
            // As LakeRebuilder: watermarks, lake, log past them, watermarks again; an archive step or a compaction in
            // between starts over.
            var marks = await archiver.WatermarksAsync(involved, cancellationToken);
            var through = marks.ToDictionary(m => m.Key, m => m.Value.Through);
            var rows = new Dictionary<(int, long, int), LakeEventRow>();

            // One pass over the lake for all of them, each only on the days its profile's events span.
            var days = await services.GetRequiredService<ProfileDayBounds>().OfAsync(tenant, userIds, through, cancellationToken);
            await foreach (var row in reader.ReadUsersAsync(tenant, days, involved, cancellationToken))
            {
                rows.TryAdd((row.LogPartition, row.LogPosition, row.EventIndex), row);
            }

            // Until the log is trimmed it may still hold an erased user's events: an export after an erasure shows none.
            var filter = await services.GetRequiredService<PrivacyFilters>().ReloadAsync(tenant);
            foreach (var erased in rows.Where(r => filter.IsErased(r.Value.UserId, r.Value.Instant())).Select(r => r.Key).ToList())
            {
                rows.Remove(erased);
            }

            var fromLake = rows.Count;
            foreach (var user in userIds)
            {
                var partition = ProfileBuckets.LogPartition(new ProfileKey(tenant, user).ToString(), partitions);
                foreach (var row in (await reader.ReadLogAsync(partition, through[partition], tenant, user, cancellationToken)).Rows)
                {
                    if (filter.IsErased(row.UserId, row.Instant()))
                    {
                        continue;
                    }

                    rows.TryAdd((row.LogPartition, row.LogPosition, row.EventIndex), row);
                }
            }

            if (await archiver.ChangedSinceAsync(marks, cancellationToken))
            {
                if (attempt == ReadAttempts)
                {
                    throw new InvalidOperationException($"The archive of tenant '{tenant}' kept moving while the export read it; try again.");
                }

                continue;
            }

            var ordered = rows.Values.OrderBy(r => r.OccurredAtTicks).ThenBy(r => r.LogPartition).ThenBy(r => r.LogPosition).ThenBy(r => r.EventIndex).ToList();
            return (ordered, fromLake, ordered.Count - fromLake);
        }
    }

    private const int ReadAttempts = 20;
}
