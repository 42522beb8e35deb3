using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Grains.Recommendations;
using ProfileGrid.Grains.Segments;
using WireCatalogItem = ProfileGrid.Contracts.V1.CatalogItem;

namespace ProfileGrid.Silo.Gateway;

/// <summary>The gRPC (and REST) face of the recommender: serving, similar items, training, the catalog.</summary>
public sealed partial class RecommendationServiceImpl(
    IClusterClient cluster,
    RecommendationEngine engine,
    RecommendationServing serving,
    EventValidator validator,
    IOptions<RecommendationOptions> options,
    IOptions<SegmentationOptions> segmentationOptions,
    TimeProvider clock) : RecommendationService.RecommendationServiceBase
{
    public const int DefaultCount = 10;
    public const int MaxUpsertItems = 1000;
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;
    private const int MaxSlotLength = 256;

    public override async Task<RecommendResponse> Recommend(RecommendRequest request, ServerCallContext context)
    {
        var tenant = GatewayPaths.FromPath(request.Tenant, context, "tenant");
        var userId = GatewayPaths.FromPath(request.UserId, context, "user_id");
        if (!validator.TryValidateKey(tenant, userId, out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        var count = Count(request.N);
        // Experiments name slots in lower case: 'Cart' or ' cart' is the cart slot, not a slot outside every experiment
        // (probe73). A NUL or an overlong slot is refused, as in feedback events.
        var slot = request.Slot.Trim();
        if (slot.Length > MaxSlotLength)
        {
            throw Invalid("slot", $"is {slot.Length} characters long; the limit is {MaxSlotLength}");
        }

        if (ProfileGrid.Recommendations.Rules.TextChecks.NulProblem(slot) is { } nul)
        {
            throw Invalid("slot", nul);
        }

        if (request.PageItem.Length > 0)
        {
            ItemId(request.PageItem, "page_item");
        }

        for (var i = 0; i < request.Exclude.Count; i++)
        {
            ItemId(request.Exclude[i], $"exclude[{i}]");
        }

        ServedList served;
        try
        {
            served = await engine.RecommendAsync(new RecommendCall(
                tenant, userId, count, NullIfEmpty(slot.ToLowerInvariant()), NullIfEmpty(request.PageItem), request.Exclude));
        }
        catch (RecommendationUnavailableException ex)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, ex.Message));
        }

        var response = new RecommendResponse
        {
            Tenant = tenant,
            UserId = served.ServedFor ?? userId,
            RecommendationId = served.RecommendationId,
            ModelVersion = served.ModelVersion,
            RulesVersion = served.RulesVersion,
            Personalized = served.Personalized,
            ColdStart = served.ColdStart,
        };
        if (served.SegmentId is { } segmentId)
        {
            response.SegmentId = segmentId;
        }

        // Set only when known: an optional field set to "" would still be written (REST answers leave unknowns out).
        if (served.SegmentLabel is { } segmentLabel)
        {
            response.SegmentLabel = segmentLabel;
        }

        if (served.ExperimentId is { } experimentId)
        {
            response.ExperimentId = experimentId;
            response.Variant = served.Variant ?? "";
        }

        if (served.Reranker is { } reranker)
        {
            response.Reranker = reranker;
        }

        response.Items.Capacity = served.Items.Count;
        for (var i = 0; i < served.Items.Count; i++)
        {
            response.Items.Add(ToProto(served.Items[i]));
        }

        return response;
    }

    public override async Task<SimilarItemsResponse> SimilarItems(SimilarItemsRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var itemId = ItemId(GatewayPaths.FromPath(request.ItemId, context, "item_id"), "item_id");
        var count = Count(request.N);
        var snapshot = await serving.GetAsync(tenant);
        if (snapshot.Package is not { } package)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"tenant '{tenant}' has no recommender model yet: train one first"));
        }

        if (snapshot.Catalog.TryGetValue(itemId, out var known) && !known.Available
            && (await CatalogShard(tenant, RecommendationKeys.CatalogShardOf(itemId, options.Value.CatalogShards)).GetAsync([itemId])) is [{ Deleted: true } deleted])
        {
            // The model may hold it until the next training; a deleted item is not something to shop around. An item
            // only marked unavailable (sold out) still answers: "like this sold-out item" is what a shop wants then.
            throw new RpcException(new Status(StatusCode.NotFound,
                $"item '{itemId}' was deleted from the catalog of tenant '{tenant}' ({deleted.UpdatedAt:O}); upsert it again to have similar items for it"));
        }

        var similar = RecommenderModels.Similar(package.Model, itemId, count * options.Value.CandidateFactor) ?? throw new RpcException(new Status(
            StatusCode.NotFound, $"item '{itemId}' is not in the model of tenant '{tenant}': no interaction with it weighed anything at the last training (none yet, or only ratings below min_positive_rating, which count for nothing), or EASE left it out (it models the ease_max_items most popular items)"));
        var response = new SimilarItemsResponse { Tenant = tenant, ItemId = itemId, ModelVersion = package.Version };
        response.Items.AddRange(similar
            .Select(item => new ServedItem(item.ItemId, item.Score, item.Source, item.Because, [], snapshot.Item(item.ItemId)))
            .Where(item => item.Catalog is not { Available: false })
            .Take(count)
            .Select(ToProto));
        return response;
    }

    public override async Task<RecommenderStatusResponse> TrainRecommender(TrainRecommenderRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var result = await Recommender(tenant).TrainAsync(new RecommenderTrainRequest
        {
            CandidateAlgorithm = NullIfEmpty(request.CandidateAlgorithm),
            ViewWeight = request.Weights?.HasView == true ? request.Weights.View : null,
            AddToCartWeight = request.Weights?.HasAddToCart == true ? request.Weights.AddToCart : null,
            PurchaseWeight = request.Weights?.HasPurchase == true ? request.Weights.Purchase : null,
            RatingWeight = request.Weights?.HasRating == true ? request.Weights.Rating : null,
            RatingScale = request.Weights?.HasRatingScale == true ? request.Weights.RatingScale : null,
            HalfLifeDays = request.Weights?.HasHalfLifeDays == true ? request.Weights.HalfLifeDays : null,
            MinPositiveRating = request.Weights?.HasMinPositiveRating == true ? request.Weights.MinPositiveRating : null,
            Neighbours = request.HasNeighbours ? request.Neighbours : null,
            Shrinkage = request.HasShrinkage ? request.Shrinkage : null,
            EaseMaxItems = request.HasEaseMaxItems ? request.EaseMaxItems : null,
            ColdStartThreshold = request.HasColdStartThreshold ? request.ColdStartThreshold : null,
            TrendingHalfLifeDays = request.HasTrendingHalfLifeDays ? request.TrendingHalfLifeDays : null,
        });
        var code = result.Outcome switch
        {
            RecommenderTrainOutcome.Trained => StatusCode.OK,
            RecommenderTrainOutcome.InvalidSettings => StatusCode.InvalidArgument,
            RecommenderTrainOutcome.InsufficientData => StatusCode.FailedPrecondition,
            RecommenderTrainOutcome.AlreadyRunning => StatusCode.Aborted,
            _ => StatusCode.Internal,
        };
        if (code != StatusCode.OK)
        {
            throw new RpcException(new Status(code, string.Join(" ", result.Problems)));
        }

        serving.Invalidate(tenant);
        var trained = ToProto(tenant, result.Status);
        trained.UsersWithInteractions = await UsersWithInteractionsAsync(tenant);
        return trained;
    }

    public override async Task<RecommenderStatusResponse> GetRecommenderStatus(GetRecommenderStatusRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var response = ToProto(tenant, await Recommender(tenant).GetStatusAsync());
        response.UsersWithInteractions = await UsersWithInteractionsAsync(tenant);
        return response;
    }

    public override async Task<RerankerStatusResponse> TrainReranker(TrainRerankerRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var result = await cluster.GetGrain<IRerankerGrain>(tenant).TrainAsync();
        var code = result.Outcome switch
        {
            RerankerTrainOutcome.Trained => StatusCode.OK,
            RerankerTrainOutcome.InsufficientData => StatusCode.FailedPrecondition,
            RerankerTrainOutcome.AlreadyRunning => StatusCode.Aborted,
            _ => StatusCode.Internal,
        };
        if (code != StatusCode.OK)
        {
            throw new RpcException(new Status(code, string.Join(" ", result.Problems)));
        }

        serving.Invalidate(tenant);
        return ToProto(tenant, result.Status);
    }

    public override async Task<RerankerStatusResponse> GetRerankerStatus(GetRerankerStatusRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        return ToProto(tenant, await cluster.GetGrain<IRerankerGrain>(tenant).GetStatusAsync());
    }

    private static RerankerStatusResponse ToProto(string tenant, RerankerStatus? status)
    {
        var response = new RerankerStatusResponse { Tenant = tenant };
        if (status is null)
        {
            return response;
        }

        var e = status.Evaluation;
        response.Version = status.Version;
        response.Fingerprint = status.Fingerprint ?? "";
        response.PublishedAt = status.PublishedAt is { } publishedAt ? WireTime.Of(publishedAt) : "";
        response.LastTrainedAt = WireTime.Of(status.LastTrainedAt);
        response.LastPublished = status.LastPublished;
        response.LoggedLists = status.LoggedLists;
        response.ShownLists = status.ShownLists;
        response.ListsWithClick = status.ListsWithClick;
        response.Evaluation = new Contracts.V1.RerankerEvaluation
        {
            TrainingLists = e.TrainingLists,
            TrainingRows = e.TrainingRows,
            ValidationLists = e.ValidationLists,
            ValidationRows = e.ValidationRows,
            ValidationListsWithClick = e.ValidationListsWithClick,
            K = e.K,
            ModelAuc = e.ModelAuc,
            BaseAuc = e.BaseAuc,
            ModelNdcg = e.ModelNdcg,
            BaseNdcg = e.BaseNdcg,
            NdcgGainLowerBound = e.NdcgGainLowerBound,
            Publishable = e.Publishable,
            Reasons = { e.Reasons },
            TrainingSeconds = e.TrainingTime.TotalSeconds,
        };
        return response;
    }

    public override async Task<Contracts.V1.RecommenderEvaluation> EvaluateRecommender(EvaluateRecommenderRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var result = await Recommender(tenant).EvaluateAsync(new RecommenderEvaluationRequest
        {
            K = request.K == 0 ? 10 : request.K,
            Split = request.Split.Length == 0 ? "random" : request.Split,
            Ratio = request.Ratio == 0 ? 0.75 : request.Ratio,
            Seed = request.HasSeed ? request.Seed : 42,
            Algorithms = request.Algorithms.ToArray(),
            Slices = request.Slices.ToArray(),
        });
        if (result.Report is not { } report)
        {
            var code = result.Outcome switch
            {
                RecommenderTrainOutcome.InvalidSettings => StatusCode.InvalidArgument,
                RecommenderTrainOutcome.InsufficientData => StatusCode.FailedPrecondition,
                RecommenderTrainOutcome.AlreadyRunning => StatusCode.Aborted,
                _ => StatusCode.Internal,
            };
            throw new RpcException(new Status(code, string.Join(" ", result.Problems)));
        }

        var response = new Contracts.V1.RecommenderEvaluation
        {
            Tenant = tenant,
            K = report.K,
            Split = report.Split,
            Ratio = report.Ratio,
            Seed = report.Seed,
            TrainUsers = report.TrainUsers,
            TrainItems = report.TrainItems,
            TrainPairs = report.TrainPairs,
            TestUsers = report.TestUsers,
            HeldOutPairs = report.HeldOutPairs,
            TrainOnlyUsers = report.TrainOnlyUsers,
            EvaluatedAt = WireTime.Of(report.EvaluatedAt),
            AgesAsOf = WireTime.Of(report.AgesAsOf),
        };
        response.Algorithms.AddRange(report.Algorithms.Select(a => new AlgorithmEvaluation
        {
            Algorithm = a.Algorithm, Metrics = ToProto(a.Metrics), TrainSeconds = a.TrainSeconds, RecommendSeconds = a.RecommendSeconds,
        }));
        foreach (var slice in report.Slices)
        {
            var proto = new SliceEvaluation { Slice = slice.Slice, Algorithm = slice.Algorithm };
            proto.Groups.AddRange(slice.Groups.Select(g => new SliceGroupMetrics { Group = g.Group, Metrics = ToProto(g.Metrics) }));
            proto.Spreads.AddRange(slice.Spreads.Select(m =>
            {
                var spread = new Contracts.V1.MetricSpread { Metric = m.Metric, MinGroup = m.MinGroup, Min = m.Min, MaxGroup = m.MaxGroup, Max = m.Max };
                if (m.Ratio is { } ratio)
                {
                    spread.Ratio = ratio;
                }

                return spread;
            }));
            response.Slices.Add(proto);
        }

        return response;
    }

    private static Contracts.V1.RankingMetrics ToProto(MetricsView m) => new()
    {
        Users = m.Users, UsersRecommended = m.UsersRecommended, Precision = m.Precision, Recall = m.Recall, Ndcg = m.Ndcg,
        Map = m.Map, MapAtK = m.MapAtK, HitRate = m.HitRate, Coverage = m.Coverage, Novelty = m.Novelty,
    };

    public override async Task<UpsertItemsResponse> UpsertItems(UpsertItemsRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        if (request.Items.Count == 0)
        {
            throw Invalid("items", "is required: at least one item");
        }

        if (request.Items.Count > MaxUpsertItems)
        {
            throw Invalid("items", $"at most {MaxUpsertItems} items per request ({request.Items.Count})");
        }

        var response = new UpsertItemsResponse();
        var now = clock.GetUtcNow();
        var accepted = new List<CatalogItemView>();
        var firstAt = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < request.Items.Count; i++)
        {
            if (firstAt.TryGetValue(request.Items[i].ItemId, out var first))
            {
                // Which copy would be meant is anyone's guess: refuse the repeat rather than keep one silently.
                response.Rejected.Add(new ItemRejection { Index = i, Field = $"items[{i}].item_id", Reason = $"repeats items[{first}] in this request; send each item once" });
                continue;
            }

            firstAt[request.Items[i].ItemId] = i;
            if (CatalogEdge.TryValidate(request.Items[i], i, validator, now, out var item, out var rejection))
            {
                accepted.Add(item!);
            }
            else
            {
                response.Rejected.Add(rejection);
            }
        }

        var shards = options.Value.CatalogShards;
        await Task.WhenAll(accepted.GroupBy(item => RecommendationKeys.CatalogShardOf(item.ItemId, shards))
            .Select(group => CatalogShard(tenant, group.Key).UpsertAsync(group.ToArray())));
        response.Accepted = accepted.Count;
        serving.Invalidate(tenant);
        return response;
    }

    public override async Task<DeleteItemsResponse> DeleteItems(DeleteItemsRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        if (request.ItemIds.Count is 0 or > MaxUpsertItems)
        {
            throw Invalid("item_ids", $"between 1 and {MaxUpsertItems} ids ({request.ItemIds.Count})");
        }

        // As an upsert does: each bad id is refused with its reason and the valid rest are deleted.
        var response = new DeleteItemsResponse();
        var valid = new List<string>(request.ItemIds.Count);
        for (var i = 0; i < request.ItemIds.Count; i++)
        {
            if (validator.TryValidateItemId(request.ItemIds[i], $"item_ids[{i}]", out var error))
            {
                valid.Add(request.ItemIds[i]);
            }
            else
            {
                response.Rejected.Add(new ItemRejection { Index = i, Field = error!.Field, Reason = error.Reason });
            }
        }

        var shards = options.Value.CatalogShards;
        var deleted = await Task.WhenAll(valid.Distinct(StringComparer.Ordinal)
            .GroupBy(id => RecommendationKeys.CatalogShardOf(id, shards))
            .Select(group => CatalogShard(tenant, group.Key).DeleteAsync(group.ToArray())));
        serving.Invalidate(tenant);
        response.Deleted = deleted.Sum();
        return response;
    }

    public override async Task<WireCatalogItem> GetItem(GetItemRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var itemId = ItemId(GatewayPaths.FromPath(request.ItemId, context, "item_id"), "item_id");
        var shard = RecommendationKeys.CatalogShardOf(itemId, options.Value.CatalogShards);
        if ((await CatalogShard(tenant, shard).GetAsync([itemId])).FirstOrDefault() is { } upserted)
        {
            return CatalogEdge.ToProto(upserted);
        }

        var snapshot = await serving.GetAsync(tenant);
        if (snapshot.Package?.EventCatalog.TryGetValue(itemId, out var seen) == true)
        {
            return CatalogEdge.ToProto(seen);
        }

        throw new RpcException(new Status(StatusCode.NotFound, $"item '{itemId}' is not in the catalog of tenant '{tenant}', and no event named it before the last training"));
    }

    public override async Task<ListItemsResponse> ListItems(ListItemsRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var pageSize = request.PageSize == 0 ? DefaultPageSize : request.PageSize;
        if (pageSize is < 1 or > MaxPageSize)
        {
            throw Invalid("page_size", $"must be between 1 and {MaxPageSize}; got {request.PageSize}");
        }

        var after = NullIfEmpty(request.After);
        var pages = await Task.WhenAll(Enumerable.Range(0, options.Value.CatalogShards)
            .Select(shard => CatalogShard(tenant, shard).ListAsync(after, pageSize)));
        var page = pages.SelectMany(p => p).OrderBy(item => item.ItemId, StringComparer.Ordinal).Take(pageSize).ToList();
        var response = new ListItemsResponse { NextAfter = page.Count == pageSize ? page[^1].ItemId : "" };
        response.Items.AddRange(page.Select(CatalogEdge.ToProto));
        return response;
    }

    public override async Task<RuleSetResponse> ListRules(ListRulesRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        return RuleEdge.ToProto(tenant, await Rules(tenant).GetAsync());
    }

    public override async Task<Contracts.V1.RecommendationRule> GetRule(GetRuleRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var ruleId = GatewayPaths.FromPath(request.RuleId, context, "rule_id");
        var rules = await Rules(tenant).GetAsync();
        var rule = rules.Rules.FirstOrDefault(r => r.Id == ruleId) ?? throw new RpcException(new Status(
            StatusCode.NotFound, $"tenant '{tenant}' has no rule '{ruleId}'"));
        return RuleEdge.ToProto(rule);
    }

    public override Task<RuleChangeResponse> CreateRule(PutRuleRequest request, ServerCallContext context) =>
        PutRuleAsync(request, context, mustExist: false);

    public override Task<RuleChangeResponse> UpdateRule(PutRuleRequest request, ServerCallContext context) =>
        PutRuleAsync(request, context, mustExist: true);

    private async Task<RuleChangeResponse> PutRuleAsync(PutRuleRequest request, ServerCallContext context, bool mustExist)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        if (request.Rule is null)
        {
            throw Invalid("rule", "is required");
        }

        var problems = new List<string>();
        var rule = RuleEdge.FromProto(request.Rule, "rule", problems);
        if (mustExist)
        {
            var ruleId = GatewayPaths.FromPath(request.RuleId, context, "rule_id");
            if (rule.Id is not null && rule.Id != ruleId)
            {
                problems.Add($"rule.id: '{rule.Id}' differs from the rule named in the path ('{ruleId}')");
            }

            rule = rule with { Id = ruleId };
        }

        if (problems.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join("; ", problems)));
        }

        var result = await Rules(tenant).UpsertAsync(rule, request.HasExpectedVersion ? request.ExpectedVersion : null, mustExist);
        if (!mustExist && result.Conflict && result.Problems.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.Aborted, $"rule.id: tenant '{tenant}' already has a rule '{rule.Id}'; update it with PUT .../recommendation-rules/{rule.Id}"));
        }

        var response = ChangeResponse(tenant, result, rule.Id);
        response.Warnings.AddRange(await PinWarningsAsync(tenant, [("rule", rule)]));
        return response;
    }

    /// <summary>
    /// Warnings for pinned items that cannot show now: deleted from the catalog, marked unavailable, or unknown to both
    /// the catalog and the last trained model. Warnings, not errors: the rule is stored, and the pin takes effect once
    /// the item is upserted (or a training sees it in events).
    /// </summary>
    private async Task<List<string>> PinWarningsAsync(string tenant, IEnumerable<(string Path, Recommendations.Rules.RecommendationRule Rule)> rules)
    {
        var pins = rules
            .Where(r => r.Rule.Action is { Type: "pin", Items.Count: > 0 })
            .SelectMany(r => r.Rule.Action!.Items!.Select(item => (Field: $"{r.Path}.action.items", Item: item)))
            .ToList();
        var warnings = new List<string>();
        if (pins.Count == 0)
        {
            return warnings;
        }

        var snapshot = await serving.GetAsync(tenant);
        // The snapshot knows an item is unavailable; only its shard knows whether it was deleted (rare: asked only then).
        var shards = options.Value.CatalogShards;
        var unavailable = pins.Select(p => p.Item).Where(item => snapshot.Catalog.TryGetValue(item, out var known) && !known.Available)
            .Distinct(StringComparer.Ordinal).ToArray();
        var deleted = (await Task.WhenAll(unavailable.GroupBy(item => RecommendationKeys.CatalogShardOf(item, shards))
                .Select(group => CatalogShard(tenant, group.Key).GetAsync(group.ToArray()))))
            .SelectMany(items => items).Where(item => item.Deleted).Select(item => item.ItemId).ToHashSet(StringComparer.Ordinal);
        foreach (var (field, item) in pins)
        {
            if (deleted.Contains(item))
            {
                warnings.Add($"{field}: '{item}' is deleted from the catalog; it is pinned once it is upserted again");
            }
            else if (unavailable.Contains(item, StringComparer.Ordinal))
            {
                warnings.Add($"{field}: '{item}' is marked unavailable in the catalog; it is pinned once it is available again");
            }
            else if (snapshot.Item(item) is null)
            {
                warnings.Add($"{field}: '{item}' is neither in the catalog nor in the last trained model; it is pinned once it is upserted (or a training sees it in events)");
            }
        }

        return warnings;
    }

    public override async Task<RuleChangeResponse> DeleteRule(DeleteRuleRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var ruleId = GatewayPaths.FromPath(request.RuleId, context, "rule_id");
        var result = await Rules(tenant).DeleteAsync(ruleId, request.HasExpectedVersion ? request.ExpectedVersion : null);
        return ChangeResponse(tenant, result, ruleId);
    }

    public override async Task<RuleSetResponse> ReplaceRules(ReplaceRulesRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var problems = new List<string>();
        var rules = request.Rules.Select((rule, i) => RuleEdge.FromProto(rule, $"rules[{i}]", problems)).ToArray();
        if (problems.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join("; ", problems)));
        }

        var result = await Rules(tenant).ReplaceAsync(rules, request.HasExpectedVersion ? request.ExpectedVersion : null);
        ChangeResponse(tenant, result, null);
        var response = RuleEdge.ToProto(tenant, result.RuleSet!);
        response.Warnings.AddRange(await PinWarningsAsync(tenant, rules.Select((rule, i) => ($"rules[{i}]", rule))));
        return response;
    }

    /// <summary>A stored change as the answer; a refused one as the status that says why (this silo serves it at once).</summary>
    private RuleChangeResponse ChangeResponse(string tenant, RuleChangeResult result, string? ruleId)
    {
        if (result.NotFound)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"tenant '{tenant}' has no rule '{ruleId}'"));
        }

        if (result.Conflict)
        {
            throw new RpcException(new Status(StatusCode.Aborted, string.Join("; ", result.Problems.DefaultIfEmpty("the rules changed since the expected version; read them again"))));
        }

        if (result.RuleSet is null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join("; ", result.Problems)));
        }

        serving.Invalidate(tenant);
        var response = new RuleChangeResponse { Version = result.RuleSet.Version };
        if (result.Rule is not null)
        {
            response.Rule = RuleEdge.ToProto(result.Rule);
        }

        return response;
    }

    private async Task<long> UsersWithInteractionsAsync(string tenant)
    {
        var counts = await Task.WhenAll(Enumerable.Range(0, segmentationOptions.Value.Shards).Select(shard =>
            cluster.GetGrain<IInteractionShardGrain>(SegmentKeys.Shard(tenant, shard)).CountAsync()));
        return counts.Sum(c => (long)c);
    }

    private IRecommendationRulesGrain Rules(string tenant) => cluster.GetGrain<IRecommendationRulesGrain>(tenant);

    private int Count(int requested)
    {
        var count = requested == 0 ? DefaultCount : requested;
        if (count < 1 || count > options.Value.MaxResults)
        {
            throw Invalid("n", $"must be between 1 and {options.Value.MaxResults} ({requested})");
        }

        return count;
    }

    private string ItemId(string itemId, string field)
    {
        if (!validator.TryValidateItemId(itemId, field, out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        return itemId;
    }

    private static RecommendedItem ToProto(ServedItem item)
    {
        var proto = new RecommendedItem
        {
            ItemId = item.ItemId,
            Score = item.Score,
            Source = item.Source,
        };
        if (!string.IsNullOrEmpty(item.Because))
        {
            proto.Because = item.Because;
        }

        if (item.Rules.Count > 0)
        {
            proto.Rules.AddRange(item.Rules);
        }

        if (item.Catalog is { } known)
        {
            if (known.Category is { } category)
            {
                proto.Category = category;
            }

            if (known.Price is { } price)
            {
                proto.Price = price.ToString(CultureInfo.InvariantCulture);
                if (known.Currency is { } currency)
                {
                    proto.Currency = currency;
                }
            }

            if ((known.Attributes.GetValueOrDefault("title") ?? known.Attributes.GetValueOrDefault("name")) is { } title)
            {
                proto.Title = title;
            }
        }

        return proto;
    }

    private static RecommenderStatusResponse ToProto(string tenant, RecommenderStatus? status)
    {
        var response = new RecommenderStatusResponse { Tenant = tenant };
        if (status is null)
        {
            return response;
        }

        var s = status.Settings;
        response.Version = status.Version;
        response.TrainedAt = WireTime.Of(status.TrainedAt);
        response.Users = status.Users;
        response.Items = status.Items;
        response.Interactions = status.Interactions;
        response.TrainingSeconds = status.TrainingTime.TotalSeconds;
        response.ModelBytes = status.ModelBytes;
        response.CandidateAlgorithm = status.CandidateAlgorithm;
        response.Weights = new Contracts.V1.InteractionWeights
        {
            View = s.ViewWeight ?? 0,
            AddToCart = s.AddToCartWeight ?? 0,
            Purchase = s.PurchaseWeight ?? 0,
            Rating = s.RatingWeight ?? 0,
            RatingScale = s.RatingScale ?? 0,
            HalfLifeDays = s.HalfLifeDays ?? 0,
            // Null for a model trained before the setting existed, when every rating was positive.
            MinPositiveRating = s.MinPositiveRating ?? 0,
        };
        response.Neighbours = s.Neighbours ?? 0;
        response.Shrinkage = s.Shrinkage ?? 0;
        response.EaseMaxItems = s.EaseMaxItems ?? 0;
        response.ColdStartThreshold = s.ColdStartThreshold ?? 0;
        response.TrendingHalfLifeDays = s.TrendingHalfLifeDays ?? 0;
        response.Warnings.AddRange(status.Warnings);
        return response;
    }

    private string ValidatedTenant(string tenant)
    {
        if (!validator.TryValidateKey(tenant, "_", out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        return tenant;
    }

    private IRecommenderGrain Recommender(string tenant) => cluster.GetGrain<IRecommenderGrain>(tenant);

    private ICatalogShardGrain CatalogShard(string tenant, int shard) => cluster.GetGrain<ICatalogShardGrain>(RecommendationKeys.CatalogShard(tenant, shard));

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static RpcException Invalid(string field, string reason) => new(new Status(StatusCode.InvalidArgument, $"{field}: {reason}"));
}
