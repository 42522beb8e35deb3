using System.Text.Json.Serialization;
using ProfileGrid.Recommendations.Rules;

namespace ProfileGrid.Experiments.Design;

/// <summary>A tenant's experiments as one versioned document: every change makes a new set with a version one higher.</summary>
public sealed record ExperimentSet
{
    public static readonly ExperimentSet Empty = new();

    [JsonPropertyName("version")]
    public long Version { get; init; }

    [JsonPropertyName("updated_at")]
    public DateTimeOffset UpdatedAt { get; init; }

    [JsonPropertyName("experiments")]
    public IReadOnlyList<Experiment> Experiments { get; init; } = [];

    /// <summary>The number the next experiment created gets (numbers are never reused, archived experiments keep theirs).</summary>
    [JsonPropertyName("next_number")]
    public int NextNumber { get; init; } = 1;

    public Experiment? Find(string id) => Experiments.FirstOrDefault(e => e.Id == id);
}

/// <summary>The outcome of a change: the new set and the experiment as it now is, or why not.</summary>
public sealed record ExperimentChange(ExperimentSet? Set, Experiment? Experiment, IReadOnlyList<FieldProblem> Problems, bool NotFound = false, bool Conflict = false)
{
    public static ExperimentChange Invalid(params FieldProblem[] problems) => new(null, null, problems);

    public static ExperimentChange Missing(string id) => new(null, null, [new FieldProblem("id", $"no experiment '{id}'")], NotFound: true);

    public static ExperimentChange Refused(string field, string reason) => new(null, null, [new FieldProblem(field, reason)], Conflict: true);
}

/// <summary>
/// Creates, changes, starts, stops and archives experiments, validating every field and keeping the layers exclusive:
/// experiments that change the same slot run in one layer, where each owns its own buckets.
/// </summary>
public static class ExperimentEditor
{
    public const int MaxExperiments = 200;

    public static ExperimentChange Create(ExperimentSet set, Experiment experiment, DateTimeOffset now)
    {
        var problems = ExperimentValidator.Validate(experiment);
        if (problems.Count > 0)
        {
            return ExperimentChange.Invalid([.. problems]);
        }

        if (set.Find(experiment.Id) is not null)
        {
            return ExperimentChange.Refused("id", $"an experiment '{experiment.Id}' exists already");
        }

        if (set.Experiments.Count(e => e.Status != ExperimentStatus.Archived) >= MaxExperiments)
        {
            return ExperimentChange.Refused("id", $"the tenant has {MaxExperiments} experiments that are not archived; archive some first");
        }

        var created = experiment with
        {
            Status = ExperimentStatus.Draft, Number = set.NextNumber, CreatedAt = now,
            StartedAt = null, StoppedAt = null, BucketFirst = 0, BucketCount = 0,
        };
        return Commit(set with { Experiments = [.. set.Experiments, created], NextNumber = set.NextNumber + 1 }, created, now);
    }

    /// <summary>Replaces a draft's definition. A started experiment does not change: its users' assignment would.</summary>
    public static ExperimentChange Update(ExperimentSet set, Experiment experiment, DateTimeOffset now)
    {
        if (set.Find(experiment.Id) is not { } current)
        {
            return ExperimentChange.Missing(experiment.Id);
        }

        if (current.Status != ExperimentStatus.Draft)
        {
            return ExperimentChange.Refused("status", $"experiment '{current.Id}' is {Name(current.Status)}: only a draft can change (create a new experiment instead)");
        }

        var problems = ExperimentValidator.Validate(experiment);
        if (problems.Count > 0)
        {
            return ExperimentChange.Invalid([.. problems]);
        }

        var updated = experiment with { Status = ExperimentStatus.Draft, Number = current.Number, CreatedAt = current.CreatedAt };
        return Commit(Replace(set, updated), updated, now);
    }

    public static ExperimentChange Start(ExperimentSet set, string id, DateTimeOffset now)
    {
        if (set.Find(id) is not { } experiment)
        {
            return ExperimentChange.Missing(id);
        }

        if (experiment.Status != ExperimentStatus.Draft)
        {
            return ExperimentChange.Refused("status", $"experiment '{id}' is {Name(experiment.Status)}: only a draft starts");
        }

        var running = set.Experiments.Where(e => e.Status == ExperimentStatus.Running).ToList();
        foreach (var other in running)
        {
            var overlap = experiment.Slot is null || other.Slot is null || experiment.Slot == other.Slot;
            if (overlap && other.EffectiveLayer != experiment.EffectiveLayer)
            {
                return ExperimentChange.Refused("layer",
                    $"experiment '{other.Id}' changes the same lists ({other.Slot ?? "every slot"}) in layer '{other.EffectiveLayer}': " +
                    $"put this one in layer '{other.EffectiveLayer}' too, so that no user is in both");
            }
        }

        var wanted = (int)Math.Ceiling(experiment.Traffic * Assignment.Buckets);
        var taken = running.Where(e => e.EffectiveLayer == experiment.EffectiveLayer).Select(e => (e.BucketFirst, End: e.BucketFirst + e.BucketCount)).OrderBy(r => r.BucketFirst).ToList();
        var first = FreeRun(taken, wanted);
        if (first is null)
        {
            var free = Assignment.Buckets - taken.Sum(r => r.End - r.BucketFirst);
            return ExperimentChange.Refused("traffic",
                $"layer '{experiment.EffectiveLayer}' has {free * 100.0 / Assignment.Buckets:0.##}% of its users free in one piece at most; " +
                $"experiment '{id}' wants {experiment.Traffic:0.####}: lower its traffic or stop another experiment of the layer");
        }

        var started = experiment with { Status = ExperimentStatus.Running, StartedAt = now, BucketFirst = first.Value, BucketCount = wanted };
        return Commit(Replace(set, started), started, now);
    }

    public static ExperimentChange Stop(ExperimentSet set, string id, DateTimeOffset now)
    {
        if (set.Find(id) is not { } experiment)
        {
            return ExperimentChange.Missing(id);
        }

        if (experiment.Status != ExperimentStatus.Running)
        {
            return ExperimentChange.Refused("status", $"experiment '{id}' is {Name(experiment.Status)}: only a running one stops");
        }

        var stopped = experiment with { Status = ExperimentStatus.Stopped, StoppedAt = now };
        return Commit(Replace(set, stopped), stopped, now);
    }

    public static ExperimentChange Archive(ExperimentSet set, string id, DateTimeOffset now)
    {
        if (set.Find(id) is not { } experiment)
        {
            return ExperimentChange.Missing(id);
        }

        if (experiment.Status is ExperimentStatus.Running or ExperimentStatus.Archived)
        {
            return ExperimentChange.Refused("status", $"experiment '{id}' is {Name(experiment.Status)}: stop it first (a draft or a stopped experiment is archived)");
        }

        var archived = experiment with { Status = ExperimentStatus.Archived };
        return Commit(Replace(set, archived), archived, now);
    }

    /// <summary>The first bucket of a free run of <paramref name="length"/> buckets between the taken ranges (sorted), or null.</summary>
    private static int? FreeRun(IReadOnlyList<(int First, int End)> taken, int length)
    {
        var from = 0;
        foreach (var (first, end) in taken)
        {
            if (first - from >= length)
            {
                return from;
            }

            from = Math.Max(from, end);
        }

        return Assignment.Buckets - from >= length ? from : null;
    }

    private static ExperimentSet Replace(ExperimentSet set, Experiment experiment) =>
        set with { Experiments = [.. set.Experiments.Select(e => e.Id == experiment.Id ? experiment : e)] };

    private static ExperimentChange Commit(ExperimentSet set, Experiment experiment, DateTimeOffset now) =>
        new(set with { Version = set.Version + 1, UpdatedAt = now }, experiment, []);

    private static string Name(ExperimentStatus status) => status.ToString().ToLowerInvariant();
}
