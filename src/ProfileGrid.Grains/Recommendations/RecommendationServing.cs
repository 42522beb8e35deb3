using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Experiments.Design;
using ProfileGrid.Grains.Experiments;
using ProfileGrid.Recommendations;
using ProfileGrid.Recommendations.Rules;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>
/// What one silo serves a tenant's recommendations from, all in memory: the model package, the upserted catalog and
/// the rules, each at a version. Immutable; replaced as a whole when anything changes.
/// </summary>
public sealed class TenantServingSnapshot
{
    public static readonly TenantServingSnapshot Empty = new();

    public ModelPackage? Package { get; init; }

    /// <summary>Upserted items by id, merged over the catalog shards.</summary>
    public IReadOnlyDictionary<string, CatalogItem> Catalog { get; init; } = new Dictionary<string, CatalogItem>(StringComparer.Ordinal);

    /// <summary>The tenant's rules, compiled once per version.</summary>
    public CompiledRuleSet Rules { get; init; } = RuleEngine.Compile(RuleSet.Empty);

    /// <summary>The version of the tenant's rules in force (0: none yet).</summary>
    public long RulesVersion { get; init; }

    /// <summary>The catalog shards' versions the <see cref="Catalog"/> was built from.</summary>
    public long[] CatalogVersions { get; init; } = [];

    /// <summary>The tenant's published re-ranker; null before the first is published.</summary>
    public PublishedReranker? Reranker { get; init; }

    /// <summary>The re-ranker version last fetched, loaded or refused: fetched again only when another is published.</summary>
    public long RerankerVersionSeen { get; init; }

    /// <summary>Global popularity by item (the re-ranker's feature), computed once per model package.</summary>
    public IReadOnlyDictionary<string, double> Popularity { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    private Func<string, string?>? _categoryOf;

    /// <summary>An item's category as <see cref="Item"/> knows it (for the re-ranker's user summary), made once per snapshot.</summary>
    public Func<string, string?> CategoryOf => _categoryOf ??= itemId => Item(itemId)?.Category;

    /// <summary>The tenant's experiments (every status) at a version.</summary>
    public ExperimentSet Experiments { get; init; } = ExperimentSet.Empty;

    private IReadOnlyList<Experiment>? _running;

    /// <summary>The running experiments, in the order assignment looks at them (by layer), made once per snapshot.</summary>
    public IReadOnlyList<Experiment> Running => _running ??= [.. Experiments.Experiments
        .Where(e => e.Status == ExperimentStatus.Running)
        .OrderBy(e => e.EffectiveLayer, StringComparer.Ordinal)];

    private Func<string, CatalogItem?>? _itemLookup;

    /// <summary><see cref="Item"/> as a delegate, made once per snapshot rather than once per request.</summary>
    public Func<string, CatalogItem?> ItemLookup => _itemLookup ??= Item;

    /// <summary>An item as rules see it: upserted if it was, else as events described it, else null.</summary>
    public CatalogItem? Item(string itemId) =>
        Catalog.TryGetValue(itemId, out var upserted) ? upserted
        : Package?.EventCatalog.TryGetValue(itemId, out var seen) == true ? seen
        : null;
}

/// <summary>
/// Each silo's cache of what it serves recommendations from (model, catalog, rules) per tenant. Nothing is asked of a
/// hot grain per request: a tenant's sources are asked whether they changed at most once per
/// <see cref="RecommendationOptions.ServingRefreshInterval"/>, in the background while the last snapshot goes on serving;
/// a change made through this silo invalidates at once, so its next request sees it.
/// </summary>
public sealed partial class RecommendationServing(
    IGrainFactory grains,
    IOptions<RecommendationOptions> options,
    TimeProvider clock,
    ILogger<RecommendationServing> logger)
{
    private readonly ConcurrentDictionary<string, TenantEntry> _tenants = new(StringComparer.Ordinal);

    /// <summary>The tenant's snapshot: fresh when it was never loaded or was invalidated here, else possibly a refresh interval old.</summary>
    public async ValueTask<TenantServingSnapshot> GetAsync(string tenant)
    {
        var entry = _tenants.GetOrAdd(tenant, _ => new TenantEntry());
        var now = clock.GetUtcNow();
        entry.LastUsed = now;
        EvictIdle(now);
        while (true)
        {
            Task refresh;
            lock (entry)
            {
                // MustWait: a change made here is not in the snapshot yet (a refresh that will have it is running).
                if (entry.Snapshot is not null && !entry.Invalidated && !entry.MustWait && now - entry.CheckedAt < options.Value.ServingRefreshInterval)
                {
                    return entry.Snapshot;
                }

                if (entry.Refresh is null || entry.Refresh.IsCompleted)
                {
                    entry.Invalidated = false;
                    entry.CheckedAt = now;
                    entry.Refresh = RefreshAsync(tenant, entry);
                }

                refresh = entry.Refresh;
                if (entry.Snapshot is { Package: not null } && !entry.MustWait)
                {
                    return entry.Snapshot; // stale for at most a refresh interval; the refresh runs meanwhile
                }

                // A snapshot without a model is not served stale: a model trained through another silo since would be
                // answered "no recommender model yet: train one" (an outside probe, on every silo's first request).
            }

            await refresh;
            lock (entry)
            {
                // Still invalidated: the refresh awaited began before the change (it may hold what the change replaced),
                // so one more, begun after it, is what this request waits for.
                if (!entry.Invalidated || entry.Snapshot is null)
                {
                    return entry.Snapshot ?? TenantServingSnapshot.Empty;
                }
            }

            now = clock.GetUtcNow();
        }
    }

    /// <summary>A change was made through this silo: its next request waits for a refresh.</summary>
    public void Invalidate(string tenant)
    {
        if (_tenants.TryGetValue(tenant, out var entry))
        {
            lock (entry)
            {
                entry.Invalidated = true;
                entry.MustWait = true;
            }
        }
    }

    private async Task RefreshAsync(string tenant, TenantEntry entry)
    {
        try
        {
            var current = entry.Snapshot ?? TenantServingSnapshot.Empty;
            var shards = options.Value.CatalogShards;
            var modelCall = grains.GetGrain<IRecommenderGrain>(tenant).GetModelAsync(current.Package?.Version ?? 0);
            var catalogCalls = Enumerable.Range(0, shards).Select(i =>
                grains.GetGrain<ICatalogShardGrain>(RecommendationKeys.CatalogShard(tenant, i))
                    .GetSnapshotAsync(i < current.CatalogVersions.Length ? current.CatalogVersions[i] : -1)).ToArray();
            var rulesCall = grains.GetGrain<IRecommendationRulesGrain>(tenant).GetIfChangedAsync(current.RulesVersion);
            var experimentsCall = grains.GetGrain<IExperimentsGrain>(tenant).GetIfChangedAsync(current.Experiments.Version);
            var rerankerCall = grains.GetGrain<IRerankerGrain>(tenant).GetModelAsync(current.RerankerVersionSeen);
            var model = await modelCall;
            var catalogs = await Task.WhenAll(catalogCalls);
            var changedRules = await rulesCall;
            var changedExperiments = await experimentsCall;
            RerankerModelBytes publishedReranker;
            try
            {
                publishedReranker = await rerankerCall;
            }
            catch (Exception ex)
            {
                // The re-ranker only reorders: without it the model, catalog and rules still refresh.
                LogRerankerUnavailable(tenant, ex);
                publishedReranker = new RerankerModelBytes(current.RerankerVersionSeen, null, null);
            }

            var package = current.Package;
            var popularity = current.Popularity;
            if (model.Bytes is { } bytes && model.Version != package?.Version)
            {
                package = ModelPackage.FromBytes(bytes);
                popularity = RerankServing.PopularityOf(package);
                LogModelLoaded(tenant, package.Version, bytes.Length);
            }

            var reranker = current.Reranker;
            if (publishedReranker.Bytes is { } rerankerBytes && publishedReranker.Version != reranker?.Version)
            {
                // A model this build cannot load is not fetched again; the last loaded one goes on serving.
                reranker = LoadReranker(tenant, publishedReranker, rerankerBytes) ?? reranker;
            }

            var catalog = current.Catalog;
            if (catalogs.Any(c => c.Items is not null) || current.CatalogVersions.Length != shards)
            {
                var merged = new Dictionary<string, CatalogItem>(StringComparer.Ordinal);
                // Unchanged shards keep their items: take them from the current catalog by shard.
                for (var i = 0; i < shards; i++)
                {
                    if (catalogs[i].Items is { } items)
                    {
                        foreach (var item in items)
                        {
                            merged[item.ItemId] = ToCatalogItem(item);
                        }
                    }
                }

                foreach (var (id, item) in current.Catalog)
                {
                    var shard = RecommendationKeys.CatalogShardOf(id, shards);
                    if (catalogs[shard].Items is null)
                    {
                        merged[id] = item;
                    }
                }

                catalog = merged;
            }

            lock (entry)
            {
                entry.Snapshot = new TenantServingSnapshot
                {
                    Package = package,
                    Catalog = catalog,
                    CatalogVersions = catalogs.Select(c => c.Version).ToArray(),
                    Rules = changedRules is null ? current.Rules : RuleEngine.Compile(changedRules),
                    RulesVersion = changedRules?.Version ?? current.RulesVersion,
                    Experiments = changedExperiments ?? current.Experiments,
                    Reranker = reranker,
                    RerankerVersionSeen = publishedReranker.Version,
                    Popularity = popularity,
                };
                entry.MustWait = entry.Invalidated;
            }
        }
        catch (Exception ex)
        {
            // The last snapshot goes on serving; the next request past the interval tries again.
            LogRefreshFailed(tenant, ex);
            lock (entry)
            {
                entry.MustWait = false;
            }

            if (entry.Snapshot is null)
            {
                throw;
            }
        }
    }

    private PublishedReranker? LoadReranker(string tenant, RerankerModelBytes published, byte[] bytes)
    {
        try
        {
            var model = Reranking.RerankerModel.FromBytes(bytes);
            LogRerankerLoaded(tenant, published.Version, model.Fingerprint, bytes.Length);
            return new PublishedReranker(published.Version, model.Fingerprint, model);
        }
        catch (ArgumentException ex)
        {
            // Saved with another feature layout or format (an upgrade changed it): the last loaded model, or the base
            // order, is served until a retraining publishes one this build reads.
            LogRerankerRefused(tenant, published.Version, ex);
            return null;
        }
    }

    public static CatalogItem ToCatalogItem(CatalogItemView item) =>
        new(item.ItemId, item.Category, item.Price, item.Currency, item.Available, item.Tags, item.Attributes);

    private DateTimeOffset _lastEviction;

    private void EvictIdle(DateTimeOffset now)
    {
        var idle = options.Value.ServingIdleTimeout;
        if (now - _lastEviction < TimeSpan.FromMinutes(1))
        {
            return;
        }

        _lastEviction = now;
        foreach (var (tenant, entry) in _tenants)
        {
            if (now - entry.LastUsed > idle)
            {
                _tenants.TryRemove(tenant, out _);
            }
        }
    }

    private sealed class TenantEntry
    {
        public TenantServingSnapshot? Snapshot;
        public Task? Refresh;
        public DateTimeOffset CheckedAt;
        public DateTimeOffset LastUsed;
        public bool Invalidated;
        public bool MustWait;
    }

    [LoggerMessage(EventId = 3430, Level = LogLevel.Information, Message = "Serving {Tenant}: loaded recommender model {Version} ({Bytes} bytes)")]
    private partial void LogModelLoaded(string tenant, long version, int bytes);

    [LoggerMessage(EventId = 3432, Level = LogLevel.Information, Message = "Serving {Tenant}: loaded re-ranker {Version} ({Fingerprint}, {Bytes} bytes)")]
    private partial void LogRerankerLoaded(string tenant, long version, string fingerprint, int bytes);

    [LoggerMessage(EventId = 3433, Level = LogLevel.Warning, Message = "Serving {Tenant}: re-ranker {Version} cannot be loaded; serving the base order until it is retrained")]
    private partial void LogRerankerRefused(string tenant, long version, Exception exception);

    [LoggerMessage(EventId = 3434, Level = LogLevel.Warning, Message = "Serving {Tenant}: the re-ranker could not be asked for its model; serving the last one")]
    private partial void LogRerankerUnavailable(string tenant, Exception exception);

    [LoggerMessage(EventId = 3431, Level = LogLevel.Warning, Message = "Serving {Tenant}: refreshing the model, catalog or rules failed; serving the last ones")]
    private partial void LogRefreshFailed(string tenant, Exception exception);
}
