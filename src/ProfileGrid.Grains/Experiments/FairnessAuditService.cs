using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Experiments.Fairness;
using ProfileGrid.Grains.Recommendations;
using ProfileGrid.Grains.Segments;

namespace ProfileGrid.Grains.Experiments;

/// <summary>A tenant's fairness audit, and an experiment's effect by group when one is named.</summary>
public sealed record FairnessReport(FairnessAudit Audit, ExperimentFairnessAudit? Experiment, string Summary);

/// <summary>
/// Runs a tenant's fairness audit where it is asked for (no grain of its own): every feedback shard tallies its users
/// by group, the tallies are summed, and the audit library judges them. The catalog's size comes from the silo's serving
/// snapshot, so that items never shown count in the item-side concentration.
/// </summary>
public sealed class FairnessAuditService(
    IGrainFactory grains,
    RecommendationServing serving,
    IOptions<SegmentationOptions> segmentationOptions,
    IOptions<FairnessOptions> options)
{
    /// <summary>The audit; null when <paramref name="experimentId"/> names no experiment of the tenant.</summary>
    public async Task<FairnessReport?> AuditAsync(string tenant, string? experimentId)
    {
        AuditedExperiment? audited = null;
        if (experimentId is not null)
        {
            if ((await grains.GetGrain<IExperimentsGrain>(tenant).GetAsync()).Find(experimentId) is not { } experiment)
            {
                return null;
            }

            audited = new AuditedExperiment(experiment.Id, experiment.Number, [.. experiment.Variants.Select(v => v.Key)],
                experiment.Variants.FirstOrDefault(v => v.Control)?.Key ?? "");
        }

        var parts = await Task.WhenAll(Enumerable.Range(0, segmentationOptions.Value.Shards).Select(shard =>
            grains.GetGrain<IFeedbackAuditGrain>(SegmentKeys.Shard(tenant, shard)).GetAuditAsync(audited)));
        var snapshot = await serving.GetAsync(tenant);
        var catalog = new HashSet<string>(snapshot.Catalog.Keys, StringComparer.Ordinal);
        if (snapshot.Package is { } package)
        {
            catalog.UnionWith(package.EventCatalog.Keys);
        }

        var input = parts.Select(p => p.Audit).Aggregate(new AuditInput(), AuditInput.Add) with { CatalogSize = catalog.Count > 0 ? catalog.Count : null };
        var audit = FairnessAuditor.Audit(input, options.Value);
        ExperimentFairnessAudit? byGroup = null;
        if (audited is not null)
        {
            var experimentInput = parts.Select(p => p.Experiment!).Aggregate(
                new ExperimentAuditInput { ExperimentId = audited.Id, ControlVariant = audited.ControlVariant }, ExperimentAuditInput.Add);
            byGroup = FairnessAuditor.AuditExperiment(experimentInput, options.Value);
        }

        return new FairnessReport(audit, byGroup, FairnessSummary.Render(audit, byGroup));
    }
}
