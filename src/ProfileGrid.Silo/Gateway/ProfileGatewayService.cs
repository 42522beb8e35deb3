using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Domain;
using ProfileGrid.Grains;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The gRPC (and, through JSON transcoding, REST) face of ProfileGrid. Validates at the edge, groups a request's
/// accepted events per user into as few stream items as fit a queue message, and acknowledges only after every
/// item is durably recorded by the stream provider.
/// </summary>
public sealed partial class ProfileGatewayService(
    IClusterClient cluster,
    IEventSink sink,
    SegmentLookup segments,
    EventValidator validator,
    IOptions<GatewayOptions> gatewayOptions,
    ProfileGrid.Grains.Stats.StatsCollector stats,
    TimeProvider clock,
    ILogger<ProfileGatewayService> logger,
    ProfileGrid.Grains.ProfileGridMetrics metrics,
    IdentityResolver identity,
    ProfileGrid.Grains.Privacy.UserErasure erasure,
    ExperimentTagCheck experimentTags) : ProfileGateway.ProfileGatewayBase
{
    public const int MaxProfilesPerRequest = 100;

    /// <summary>ListProfiles' page size when none is asked for, and its largest.</summary>
    public const int DefaultListPageSize = 100, MaxListPageSize = 500;

    private readonly GatewayOptions _limits = gatewayOptions.Value;

    public override async Task<IngestEventsResponse> IngestEvents(IngestEventsRequest request, ServerCallContext context)
    {
        GatewayPaths.RefuseAmbiguousPath(context);
        if (request.Events.Count == 0)
        {
            throw Invalid("events", "is required: send at least one event (an empty batch is most likely a client bug)");
        }

        if (request.Events.Count > _limits.MaxEventsPerRequest)
        {
            throw Invalid("events", $"{request.Events.Count} events exceed the limit of {_limits.MaxEventsPerRequest} per request; split the batch");
        }

        var response = new IngestEventsResponse();
        // Event ids are deduplicated per profile, as each profile's window does across requests: two users' events may share an id.
        var seenIds = new HashSet<(string Tenant, string UserId, string EventId)>();
        // Grouped by (tenant, user) as sent, so each profile's key is encoded once per request, not once per event.
        var eventsByUser = new Dictionary<(string Tenant, string UserId), List<(UserEvent Event, int Size)>>();
        var refusedOnArrival = RestJsonGuard.RefusedEvents(context);
        List<UserEvent>? identified = null;
        var now = clock.GetUtcNow();
        for (var index = 0; index < request.Events.Count; index++)
        {
            var wire = request.Events[index];
            if (refusedOnArrival?.GetValueOrDefault(index) is { } refused)
            {
                response.Rejected.Add(new EventRejection { Index = index, EventId = wire.EventId ?? string.Empty, Field = refused.Field, Reason = refused.Reason });
                metrics.Rejected(RejectionCodes.MalformedJson);
                RejectedStat(request.Tenant, RejectionCodes.MalformedJson);
                continue;
            }

            if (!validator.TryValidate(wire, request.Tenant, index, now, request.Historical, out var validated, out var error))
            {
                response.Rejected.Add(new EventRejection { Index = index, EventId = wire.EventId ?? string.Empty, Field = error!.Field, Reason = error.Reason });
                metrics.Rejected(RejectionCodes.Of(error));
                RejectedStat(string.IsNullOrEmpty(wire.Tenant) ? request.Tenant : wire.Tenant, RejectionCodes.Of(error));
                continue;
            }

            if (!request.Historical && validated!.Feedback is { } feedback && await experimentTags.RefusalAsync(validated.Tenant, feedback.RecommendationId, validated.UserId, validated.AnonymousId) is { } untagged)
            {
                response.Rejected.Add(new EventRejection { Index = index, EventId = wire.EventId ?? string.Empty, Field = $"events[{index}].feedback.recommendation_id", Reason = untagged });
                metrics.Rejected(RejectionCodes.InvalidValue);
                RejectedStat(validated.Tenant, RejectionCodes.InvalidValue);
                continue;
            }

            // The identifiers go to the identity graph only: the event is recorded without them.
            var recorded = validated!.Identifiers is null ? validated : validated with { Identifiers = null };
            var size = sink.SizeOf(recorded, wire.CalculateSize());
            if (sink.MaxEventBytes is { } maxEventBytes && size > maxEventBytes)
            {
                response.Rejected.Add(new EventRejection
                {
                    Index = index,
                    EventId = wire.EventId ?? string.Empty,
                    Field = $"events[{index}]",
                    Reason = $"takes {size:N0} bytes as the stream carries it, and the limit is {maxEventBytes:N0} on the stream ingest path (one Azure Queue message): "
                        + (recorded.Kind == EventKind.Purchase ? "send the order's lines in parts (purchase.part)" : "send fewer lines or shorter text")
                        + ", or use the log ingest path",
                });
                metrics.Rejected(RejectionCodes.TooLarge);
                RejectedStat(validated!.Tenant, RejectionCodes.TooLarge);
                continue;
            }

            if (!seenIds.Add((validated!.Tenant, validated.UserId, validated.EventId)))
            {
                response.Duplicates++;
                stats.For(validated.Tenant)?.RepeatedInRequest();
                continue;
            }

            if (!eventsByUser.TryGetValue((validated.Tenant, validated.UserId), out var events))
            {
                eventsByUser[(validated.Tenant, validated.UserId)] = events = new(16);
            }

            if (validated.Identifiers is not null || (validated.AnonymousId is not null && identity.Enabled))
            {
                (identified ??= []).Add(validated);
            }

            events.Add((recorded, size));
            response.Accepted++;
        }

        if (identified is not null)
        {
            try
            {
                await identity.ClaimAsync(identified);
            }
            catch (Exception ex) when (ex is not RpcException && !context.CancellationToken.IsCancellationRequested)
            {
                LogIdentityFailed(ex);
                throw new RpcException(new Status(
                    StatusCode.Unavailable,
                    "The identity graph could not record the identifiers of this request; nothing is acknowledged. Retry the request: event ids make a retry safe."));
            }
        }

        var batches = new List<(string ProfileKey, EventBatch Batch)>(eventsByUser.Count);
        foreach (var ((tenant, userId), events) in eventsByUser)
        {
            var key = new ProfileKey(tenant, userId).ToString();
            foreach (var chunk in ChunkBySize(events))
            {
                batches.Add((key, new EventBatch(chunk)));
            }
        }

        try
        {
            await sink.RecordAsync(batches, context.CancellationToken);
        }
        catch (Exception ex) when (ex is not RpcException && GatewayErrors.IsTransient(ex) && !context.CancellationToken.IsCancellationRequested)
        {
            // Anything else reaches the ErrorMappingInterceptor: Internal, with an error id.
            LogRecordFailed(response.Accepted, ex);
            throw new RpcException(new Status(
                StatusCode.Unavailable,
                "The events could not be recorded durably; nothing is acknowledged. Retry the request: event ids make a retry safe."));
        }

        metrics.Acknowledged(batches);
        if (stats.Enabled)
        {
            // Acknowledged: counted once per tenant per request, after the durable record.
            foreach (var group in eventsByUser.GroupBy(pair => pair.Key.Tenant, StringComparer.Ordinal))
            {
                stats.For(group.Key)?.Accepted(group.Sum(pair => pair.Value.Count));
            }
        }

        LogIngested(response.Accepted, response.Rejected.Count, response.Duplicates, eventsByUser.Count);
        return response;
    }

    /// <summary>Counts a rejection for its tenant when the tenant itself is valid (a rejection without one belongs to nobody).</summary>
    private void RejectedStat(string? tenant, string code)
    {
        if (stats.Enabled && !string.IsNullOrEmpty(tenant) && validator.TryValidateTenant(tenant, out _))
        {
            stats.For(tenant)?.Rejected(code);
        }
    }

    public override async Task<Profile> GetProfile(GetProfileRequest request, ServerCallContext context)
    {
        var (tenant, userId) = (GatewayPaths.FromPath(request.Tenant, context, "tenant"), GatewayPaths.FromPath(request.UserId, context, "user_id"));
        var key = ValidatedKey(tenant, userId);
        var asOf = AsOf(request.AsOf);
        var segment = segments.SegmentForProfileAsync(tenant, key);
        var view = await Grain(key).GetViewAsync(asOf);
        if (view is null && await LinkedVisitorAsync(tenant, userId, asOf) is { View: { } linked } visitor)
        {
            // The person's profile, with the person's segment (probe52: it came without one).
            (key, view, segment) = (visitor.Key!, linked, segments.SegmentForProfileAsync(tenant, visitor.Key!));
        }

        if (view is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No profile for user '{userId}' in tenant '{tenant}'."));
        }

        if (view.MergedInto is { } canonical)
        {
            // A merged profile answers as the person it is part of: the canonical profile (its user_id says which).
            key = new ProfileKey(tenant, canonical).ToString();
            segment = segments.SegmentForProfileAsync(tenant, key);
            view = await Grain(key).GetViewAsync(asOf) ?? view;
        }

        var proto = ProfileMapper.ToProto(view);
        if (await segment is { } membership)
        {
            proto.Segment = SegmentLookup.ToProto(membership, proto.UserId);
        }

        return proto;
    }

    public override async Task<GetProfilesResponse> GetProfiles(GetProfilesRequest request, ServerCallContext context)
    {
        if (request.UserIds.Count > MaxProfilesPerRequest)
        {
            throw Invalid("user_ids", $"{request.UserIds.Count} ids exceed the limit of {MaxProfilesPerRequest} per request");
        }

        var tenant = GatewayPaths.FromPath(request.Tenant, context, "tenant");
        for (var i = 0; i < request.UserIds.Count; i++)
        {
            if (!validator.TryValidateKey(tenant, request.UserIds[i], out var error))
            {
                throw Invalid(error!.Field == "user_id" ? $"user_ids[{i}]" : error.Field, error.Reason);
            }
        }

        // One instant for the whole request, so the profiles of a page are comparable.
        var asOf = AsOf(request.AsOf) ?? clock.GetUtcNow();
        var keys = request.UserIds.Distinct(StringComparer.Ordinal).Select(id => (Id: id, Key: new ProfileKey(tenant, id).ToString())).ToList();
        var memberships = Task.WhenAll(keys.Select(k => segments.SegmentForProfileAsync(tenant, k.Key)));
        var views = await Task.WhenAll(keys.Select(k => Grain(k.Key).GetViewAsync(asOf)));
        var segmentOf = await memberships;
        for (var i = 0; i < views.Length; i++)
        {
            if (views[i] is null && await LinkedVisitorAsync(tenant, keys[i].Id, asOf) is { View: { } linked } visitor)
            {
                (views[i], segmentOf[i]) = (linked, await segments.SegmentForProfileAsync(tenant, visitor.Key!));
            }
            else if (views[i]?.MergedInto is { } canonical)
            {
                // As GetProfile: a merged profile answers as its canonical one.
                var canonicalKey = new ProfileKey(tenant, canonical).ToString();
                views[i] = await Grain(canonicalKey).GetViewAsync(asOf) ?? views[i];
                segmentOf[i] = await segments.SegmentForProfileAsync(tenant, canonicalKey);
            }
        }

        var response = new GetProfilesResponse();
        for (var i = 0; i < keys.Count; i++)
        {
            if (views[i] is { } view)
            {
                var proto = ProfileMapper.ToProto(view);
                if (segmentOf[i] is { } membership)
                {
                    proto.Segment = SegmentLookup.ToProto(membership, proto.UserId);
                }

                response.Profiles.Add(proto);
            }
            else
            {
                response.Missing.Add(keys[i].Id);
            }
        }

        return response;
    }

    public override async Task<ListProfilesResponse> ListProfiles(ListProfilesRequest request, ServerCallContext context)
    {
        var tenant = GatewayPaths.FromPath(request.Tenant, context, "tenant");
        if (!validator.TryValidateKey(tenant, "_", out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        var pageSize = request.PageSize == 0 ? DefaultListPageSize : request.PageSize;
        if (pageSize is < 1 or > MaxListPageSize)
        {
            throw Invalid("page_size", $"must be between 1 and {MaxListPageSize}; got {request.PageSize}");
        }

        var asOf = AsOf(request.AsOf) ?? clock.GetUtcNow();
        var (shard, after) = ShardPageToken.Parse(request.PageToken) ?? throw Invalid("page_token", "is not a token returned by this API");
        var keys = new List<string>(pageSize);
        for (; shard < segments.Shards && keys.Count < pageSize; shard++, after = null)
        {
            keys.AddRange(await segments.Shard(tenant, shard).GetUsersAsync(after, pageSize - keys.Count));
            if (keys.Count >= pageSize)
            {
                break;
            }
        }

        // A page is read like GetProfiles: its profiles and segments in parallel, at most a page's worth at once.
        var memberships = Task.WhenAll(keys.Select(key => segments.SegmentForProfileAsync(tenant, key)));
        var views = await Task.WhenAll(keys.Select(key => Grain(key).GetViewAsync(asOf)));
        var segmentOf = await memberships;
        var response = new ListProfilesResponse();
        for (var i = 0; i < keys.Count; i++)
        {
            if (views[i] is not { } view)
            {
                continue; // listed by its shard but gone since (deleted): nothing to export
            }

            var proto = ProfileMapper.ToProto(view);
            if (segmentOf[i] is { } membership)
            {
                proto.Segment = SegmentLookup.ToProto(membership, proto.UserId);
            }

            response.Profiles.Add(proto);
        }

        if (keys.Count >= pageSize)
        {
            response.NextPageToken = ShardPageToken.Format(shard, keys[^1]);
        }

        return response;
    }

    public override async Task<UpsertAttributesResponse> UpsertAttributes(UpsertAttributesRequest request, ServerCallContext context)
    {
        var key = ValidatedKey(GatewayPaths.FromPath(request.Tenant, context, "tenant"), GatewayPaths.FromPath(request.UserId, context, "user_id"));
        if (!validator.TryValidateDemographics(request.Demographics, request.Traits, out var update, out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        // The user's events acknowledged before this write reach the profile first: the gateway's arrival orders them (probe60).
        await sink.AwaitAcknowledgedAsync(key);
        var view = await Refusing(async () => await (await WriteTargetAsync(key)).UpsertAttributesAsync(update!));
        return new UpsertAttributesResponse { Profile = ProfileMapper.ToProto(view) };
    }

    public override async Task<SetPreferencesResponse> SetPreferences(SetPreferencesRequest request, ServerCallContext context)
    {
        var key = ValidatedKey(GatewayPaths.FromPath(request.Tenant, context, "tenant"), GatewayPaths.FromPath(request.UserId, context, "user_id"));
        if (!validator.TryValidatePreference(request.Preference, out var update, out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        await sink.AwaitAcknowledgedAsync(key);
        var view = await Refusing(async () => await (await WriteTargetAsync(key)).SetPreferencesAsync(update!));
        return new SetPreferencesResponse { Profile = ProfileMapper.ToProto(view) };
    }

    public override async Task<DeleteUserResponse> DeleteUser(DeleteUserRequest request, ServerCallContext context)
    {
        ValidatedKey(request.Tenant, request.UserId);

        // Not cancelled with the call: once the ledger holds the erasure it runs to the end (a retry resumes it anyway).
        var receipt = await erasure.EraseAsync(request.Tenant, request.UserId, CancellationToken.None);
        if (!receipt.Complete)
        {
            var failed = string.Join("; ", receipt.Steps.Where(s => s.Error is not null).Select(s => $"{s.Store}: {s.Error}"));
            throw new RpcException(new Status(
                StatusCode.Unavailable,
                $"The erasure of user '{request.UserId}' is pending: {failed}. The user is hidden from every reader already; the erasure resumes on its own within minutes, or call again."));
        }

        var response = new DeleteUserResponse
        {
            Tenant = receipt.Tenant,
            UserId = receipt.UserId,
            ProfilesErased = { receipt.ProfilesErased },
            Cutoff = WireTime.Of(receipt.Cutoff),
            CompletedAt = WireTime.Of(receipt.CompletedAt),
            NothingHeld = receipt.NothingHeld,
        };
        foreach (var step in receipt.Steps)
        {
            response.Steps.Add(new ErasureStep { Store = step.Store, Removed = { step.Removed.ToDictionary() }, Note = step.Note ?? "" });
        }

        return response;
    }

    private IUserProfileGrain Grain(string key) => cluster.Reference<IUserProfileGrain>(key);

    /// <summary>
    /// A visitor id without a profile of its own whose anonymous id a login linked to a user (the visitor sent nothing
    /// before the login, or nothing yet at all): it answers as the person, as a merged visitor does, rather than "not
    /// found" (probe51). Asked only when no profile answered.
    /// </summary>
    private async Task<(string? Key, Abstractions.Profiles.ProfileView? View)> LinkedVisitorAsync(string tenant, string userId, DateTimeOffset? asOf)
    {
        if (!AnonymousProfiles.IsAnonymous(userId) || await PersonOfId.FindAsync(cluster, tenant, userId) is not { } person)
        {
            return default;
        }

        var key = new ProfileKey(tenant, person).ToString();
        return (key, await Grain(key).GetViewAsync(asOf));
    }

    /// <summary>A write the profile refuses for its bounds: FailedPrecondition with the profile's reason.</summary>
    private static async Task<T> Refusing<T>(Func<Task<T>> write)
    {
        try
        {
            return await write();
        }
        catch (ProfileLimitException ex)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, ex.Message));
        }
    }

    /// <summary>
    /// Where a direct write to <paramref name="key"/> goes: a visitor id without a profile of its own that a login linked
    /// to a user writes to the person, as it reads (probe58: the write made a profile of its own, which the visitor's first
    /// event then merged away without it). A merged profile passes the write on itself.
    /// </summary>
    private async Task<IUserProfileGrain> WriteTargetAsync(string key)
    {
        var grain = Grain(key);
        var profileKey = ProfileKey.Parse(key);
        if (AnonymousProfiles.IsAnonymous(profileKey.UserId)
            && await grain.GetViewAsync(null) is null
            && await PersonOfId.FindAsync(cluster, profileKey.Tenant, profileKey.UserId) is { } person)
        {
            return Grain(new ProfileKey(profileKey.Tenant, person).ToString());
        }

        return grain;
    }

    private DateTimeOffset? AsOf(string value) =>
        AsOfParameter.TryParse(value, clock.GetUtcNow(), out var asOf, out var reason) ? asOf : throw Invalid("as_of", reason!);

    private string ValidatedKey(string tenant, string userId)
    {
        if (!validator.TryValidateKey(tenant, userId, out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        return new ProfileKey(tenant, userId).ToString();
    }

    private IEnumerable<List<UserEvent>> ChunkBySize(List<(UserEvent Event, int Size)> events)
    {
        var chunk = new List<UserEvent>(events.Count);
        var bytes = 0;
        foreach (var (userEvent, size) in events)
        {
            if (chunk.Count > 0 && bytes + size > _limits.MaxStreamItemBytes)
            {
                yield return chunk;
                chunk = [];
                bytes = 0;
            }

            chunk.Add(userEvent);
            bytes += size;
        }

        if (chunk.Count > 0)
        {
            yield return chunk;
        }
    }

    private static RpcException Invalid(string field, string reason) =>
        new(new Status(StatusCode.InvalidArgument, $"{field}: {reason}"));

    [LoggerMessage(EventId = 1020, Level = LogLevel.Debug, Message = "Ingested {Accepted} events ({Rejected} rejected, {Duplicates} duplicates) for {Profiles} profiles")]
    private partial void LogIngested(int accepted, int rejected, int duplicates, int profiles);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Warning, Message = "Claiming identifiers in the identity graph failed; the request is refused as Unavailable")]
    private partial void LogIdentityFailed(Exception exception);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Warning, Message = "Recording {Accepted} events failed; the request is refused as Unavailable")]
    private partial void LogRecordFailed(int accepted, Exception exception);
}
