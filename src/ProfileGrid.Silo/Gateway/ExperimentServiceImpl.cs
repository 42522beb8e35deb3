using System.Globalization;
using Grpc.Core;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Experiments.Design;
using ProfileGrid.Grains.Experiments;
using ProfileGrid.Grains.Recommendations;

namespace ProfileGrid.Silo.Gateway;

/// <summary>The gRPC (and REST) face of experiments: definitions and their life. Results come with the metrics.</summary>
public sealed class ExperimentServiceImpl(IClusterClient cluster, RecommendationServing serving, FairnessAuditService fairness, EventValidator validator)
    : ExperimentService.ExperimentServiceBase
{
    public override async Task<ExperimentList> ListExperiments(ListExperimentsRequest request, ServerCallContext context)
    {
        var tenant = Tenant(request.Tenant, context);
        var set = await Grain(tenant).GetAsync();
        var list = new ExperimentList { Version = set.Version };
        // The segment model is read once for the whole list, and only when an experiment targets segments.
        var model = new Lazy<Task<ProfileGrid.Abstractions.Segments.SegmentModelView?>>(() => cluster.GetGrain<ISegmentationGrain>(tenant).GetModelAsync());
        foreach (var experiment in set.Experiments.Where(e => request.IncludeArchived || e.Status != ExperimentStatus.Archived))
        {
            list.Experiments.Add(await WithWarningsAsync(tenant, experiment, model));
        }

        return list;
    }

    public override async Task<ExperimentDefinition> GetExperiment(ExperimentRequest request, ServerCallContext context)
    {
        var tenant = Tenant(request.Tenant, context);
        var id = GatewayPaths.FromPath(request.ExperimentId, context, "experiment_id");
        var set = await Grain(tenant).GetAsync();
        return await WithWarningsAsync(tenant, set.Find(id) ?? throw new RpcException(new Status(StatusCode.NotFound, $"tenant '{tenant}' has no experiment '{id}'")));
    }

    /// <summary>
    /// The definition with what stops it assigning anyone, as of now, for an experiment that may still run: a read says so
    /// as the start call did (probe63: the start's warning was gone from every later read, and the dashboard showed an
    /// experiment that could assign nobody as one waiting for traffic).
    /// </summary>
    private async Task<ExperimentDefinition> WithWarningsAsync(string tenant, Experiment experiment, Lazy<Task<ProfileGrid.Abstractions.Segments.SegmentModelView?>>? model = null)
    {
        var wire = ToWire(experiment);
        if (experiment.Status is not (ExperimentStatus.Stopped or ExperimentStatus.Archived))
        {
            wire.Warnings.AddRange(await TargetingWarningsAsync(tenant, experiment, model));
        }

        return wire;
    }

    public override Task<ExperimentDefinition> CreateExperiment(PutExperimentRequest request, ServerCallContext context)
    {
        var tenant = Tenant(request.Tenant, context);
        var experiment = FromWire(request.Experiment ?? throw Invalid("experiment", "is required"));
        return ChangeAsync(tenant, Grain(tenant).CreateAsync(experiment), created: true);
    }

    public override Task<ExperimentDefinition> UpdateExperiment(PutExperimentRequest request, ServerCallContext context)
    {
        var tenant = Tenant(request.Tenant, context);
        var id = GatewayPaths.FromPath(request.ExperimentId, context, "experiment_id");
        var wire = request.Experiment ?? throw Invalid("experiment", "is required");
        if (wire.Id.Length > 0 && wire.Id != id)
        {
            throw Invalid("experiment.id", $"'{wire.Id}' differs from the experiment in the path ('{id}')");
        }

        wire.Id = id;
        return ChangeAsync(tenant, Grain(tenant).UpdateAsync(FromWire(wire)));
    }

    public override Task<ExperimentDefinition> StartExperiment(ExperimentRequest request, ServerCallContext context) =>
        Transition(request, context, (grain, id) => grain.StartAsync(id));

    public override Task<ExperimentDefinition> StopExperiment(ExperimentRequest request, ServerCallContext context) =>
        Transition(request, context, (grain, id) => grain.StopAsync(id));

    public override Task<ExperimentDefinition> ArchiveExperiment(ExperimentRequest request, ServerCallContext context) =>
        Transition(request, context, (grain, id) => grain.ArchiveAsync(id));

    private Task<ExperimentDefinition> Transition(ExperimentRequest request, ServerCallContext context, Func<IExperimentsGrain, string, Task<ExperimentChangeResult>> change)
    {
        var tenant = Tenant(request.Tenant, context);
        var id = GatewayPaths.FromPath(request.ExperimentId, context, "experiment_id");
        return ChangeAsync(tenant, change(Grain(tenant), id));
    }

    private async Task<ExperimentDefinition> ChangeAsync(string tenant, Task<ExperimentChangeResult> change, bool created = false)
    {
        var result = await change;
        if (result.Experiment is { } experiment)
        {
            serving.Invalidate(tenant);
            return await WithWarningsAsync(tenant, experiment);
        }

        var message = string.Join("; ", result.Problems.Select(p => $"experiment.{p.Field}: {p.Reason}"));
        var code = result.NotFound ? StatusCode.NotFound
            : result.Conflict && created ? StatusCode.AlreadyExists
            : result.Conflict ? StatusCode.FailedPrecondition
            : StatusCode.InvalidArgument;
        throw new RpcException(new Status(code, message));
    }

    /// <summary>
    /// Targeted segments that no user can be in: the tenant has no segment model, or none of its segments has that label
    /// or id. The definition stays valid (a later segmentation may name one so), but a typo would otherwise hold its
    /// share of the layer while assigning nobody, silently.
    /// </summary>
    private async Task<IEnumerable<string>> TargetingWarningsAsync(string tenant, Experiment experiment, Lazy<Task<ProfileGrid.Abstractions.Segments.SegmentModelView?>>? listModel)
    {
        if (experiment.Targeting is not { Segments.Count: > 0 } targeting)
        {
            return [];
        }

        var model = listModel is null ? await cluster.GetGrain<ISegmentationGrain>(tenant).GetModelAsync() : await listModel.Value;
        if (model is null)
        {
            return [$"targeting.segments: tenant '{tenant}' has no segment model yet, so nobody is in {string.Join(", ", targeting.Segments.Select(s => $"'{s}'"))}; " +
                "nobody is assigned to this experiment until a segmentation run names such a segment."];
        }

        return targeting.Segments
            .Where(wanted => !model.Segments.Any(s => wanted == s.Id.ToString(CultureInfo.InvariantCulture) || string.Equals(wanted, s.Label, StringComparison.OrdinalIgnoreCase)))
            .Select(wanted => $"targeting.segments: no segment of the published model (version {model.Version}) is labelled or numbered '{wanted}' " +
                $"(it has {string.Join(", ", model.Segments.Select(s => $"{s.Id} '{s.Label}'"))}); nobody is assigned by it until a segmentation names one so.");
    }

    public override async Task<ExperimentResults> GetExperimentResults(ExperimentRequest request, ServerCallContext context)
    {
        var tenant = Tenant(request.Tenant, context);
        var id = GatewayPaths.FromPath(request.ExperimentId, context, "experiment_id");
        var grain = Grain(tenant);
        var result = await grain.GetResultsAsync(id) ?? throw new RpcException(new Status(StatusCode.NotFound, $"tenant '{tenant}' has no experiment '{id}'"));
        var experiment = (await grain.GetAsync()).Find(id);
        return ExperimentResultsMapper.ToWire(result, experiment?.Status.ToString().ToLowerInvariant() ?? "", WireTime.Of(DateTimeOffset.UtcNow));
    }

    public override async Task<FairnessAuditResponse> GetFairnessAudit(FairnessAuditRequest request, ServerCallContext context)
    {
        var tenant = Tenant(request.Tenant, context);
        var experimentId = request.ExperimentId.Length == 0 ? null : request.ExperimentId;
        var report = await fairness.AuditAsync(tenant, experimentId)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"tenant '{tenant}' has no experiment '{experimentId}'"));
        var response = new FairnessAuditResponse
        {
            Audit = Struct(report.Audit),
            Summary = report.Summary,
            ComputedAt = WireTime.Of(DateTimeOffset.UtcNow),
        };
        if (report.Experiment is { } byGroup)
        {
            response.Experiment = Struct(byGroup);
        }

        return response;
    }

    private static Google.Protobuf.WellKnownTypes.Struct Struct<T>(T value) =>
        Google.Protobuf.JsonParser.Default.Parse<Google.Protobuf.WellKnownTypes.Struct>(System.Text.Json.JsonSerializer.Serialize(value));

    private IExperimentsGrain Grain(string tenant) => cluster.GetGrain<IExperimentsGrain>(tenant);

    private string Tenant(string value, ServerCallContext context)
    {
        var tenant = GatewayPaths.FromPath(value, context, "tenant");
        if (!validator.TryValidateKey(tenant, "_", out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        return tenant;
    }

    private static RpcException Invalid(string field, string reason) => new(new Status(StatusCode.InvalidArgument, $"{field}: {reason}"));

    internal static Experiment FromWire(ExperimentDefinition wire) => new()
    {
        Id = wire.Id,
        Name = NullIfEmpty(wire.Name),
        Slot = NullIfEmpty(wire.Slot),
        Layer = NullIfEmpty(wire.Layer),
        Traffic = wire.HasTraffic ? wire.Traffic : 1,
        Variants = [.. wire.Variants.Select(v => new Variant
        {
            Key = v.Key,
            Weight = v.HasWeight ? v.Weight : 1,
            Control = v.Control,
            Config = new VariantConfig
            {
                Algorithm = v.Algorithm.Length == 0 ? Algorithms.Model : v.Algorithm,
                Rules = !v.HasRules || v.Rules,
                Reranker = v.Reranker,
            },
        })],
        Targeting = wire.Targeting is null ? null : new Targeting
        {
            Segments = [.. wire.Targeting.Segments],
            Attributes = wire.Targeting.Attributes.ToDictionary(a => a.Key, a => (IReadOnlyList<string>)[.. a.Value.Values], StringComparer.Ordinal),
        },
    };

    internal static ExperimentDefinition ToWire(Experiment experiment)
    {
        var wire = new ExperimentDefinition
        {
            Id = experiment.Id,
            Name = experiment.Name ?? "",
            Slot = experiment.Slot ?? "",
            Layer = experiment.EffectiveLayer,
            Traffic = experiment.Traffic,
            Status = experiment.Status.ToString().ToLowerInvariant(),
            Number = experiment.Number,
            CreatedAt = WireTime.Of(experiment.CreatedAt),
            StartedAt = experiment.StartedAt is { } started ? WireTime.Of(started) : "",
            StoppedAt = experiment.StoppedAt is { } stopped ? WireTime.Of(stopped) : "",
        };
        wire.Variants.AddRange(experiment.Variants.Select(v => new ExperimentVariant
        {
            Key = v.Key, Weight = v.Weight, Control = v.Control, Algorithm = v.Config.Algorithm, Rules = v.Config.Rules, Reranker = v.Config.Reranker,
        }));
        if (experiment.Targeting is { } targeting)
        {
            wire.Targeting = new ExperimentTargeting { Segments = { targeting.Segments } };
            foreach (var (name, values) in targeting.Attributes)
            {
                wire.Targeting.Attributes[name] = new AttributeValues { Values = { values } };
            }
        }

        return wire;
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

}
