using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace ProfileGrid.Experiments.Design;

/// <summary>What targeting looks at of a user when a list is asked for.</summary>
/// <param name="Segment">The user's segment id and label, when they have one.</param>
/// <param name="Attributes">Known attributes by name (country, gender, age_band, language, channel, device).</param>
public sealed record UserFacts((int Id, string Label)? Segment, IReadOnlyDictionary<string, string> Attributes)
{
    public static readonly UserFacts None = new(null, new Dictionary<string, string>());
}

/// <summary>A user's experiment and variant (its index in the experiment's variants) for one request.</summary>
public sealed record Assigned(Experiment Experiment, Variant Variant, int VariantIndex);

/// <summary>
/// Deterministic, sticky assignment with no state per user: a user's bucket in a layer is a hash of tenant, layer and
/// user id, the running experiment that owns that bucket (experiments of a layer own disjoint buckets) takes them if
/// its targeting admits them, and a second hash of tenant, experiment and user picks the variant by weight. The same
/// inputs give the same answer in every silo and after every restart.
/// </summary>
public static class Assignment
{
    /// <summary>Buckets per layer: traffic shares are in steps of 0.01%.</summary>
    public const int Buckets = 10_000;

    /// <summary>The user's bucket in [0, <paramref name="range"/>): the first 8 bytes of SHA-256 of the three parts.</summary>
    public static int Bucket(string tenant, string scope, string user, int range = Buckets)
    {
        // SHA-256 rather than string.GetHashCode (randomised per process) or a fast non-cryptographic hash: the same
        // answer on every machine and release is the point, and it costs about a microsecond per request.
        var text = $"{tenant}\n{scope}\n{user}";
        Span<byte> hash = stackalloc byte[32];
        var bytes = Encoding.UTF8.GetBytes(text);
        SHA256.HashData(bytes, hash);
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(hash) % (ulong)range);
    }

    /// <summary>
    /// The experiment and variant of <paramref name="user"/> for a list in <paramref name="slot"/>, or null when no
    /// running experiment of that slot takes them (no bucket of theirs is owned, or targeting excludes them). A user who
    /// has met a variant of a running experiment (<paramref name="exposedVariants"/>, by experiment number) keeps it
    /// whatever their id hashes to: a visitor who logs in becomes a person whose own id may hash elsewhere, and would
    /// otherwise see both variants (probe59: 15 of 40).
    /// </summary>
    public static Assigned? Assign(
        IReadOnlyList<Experiment> experiments, string tenant, string user, string? slot, UserFacts facts, IReadOnlyDictionary<int, int>? exposedVariants = null)
    {
        if (exposedVariants is { Count: > 0 })
        {
            foreach (var experiment in experiments)
            {
                if (experiment.Status == ExperimentStatus.Running && AppliesTo(experiment, slot)
                    && exposedVariants.TryGetValue(experiment.Number, out var met) && met >= 0 && met < experiment.Variants.Count)
                {
                    return Admits(experiment.Targeting, facts) ? new Assigned(experiment, experiment.Variants[met], met) : null;
                }
            }
        }

        string? layer = null;
        var bucket = -1;
        foreach (var experiment in experiments)
        {
            if (experiment.Status != ExperimentStatus.Running || !AppliesTo(experiment, slot))
            {
                continue;
            }

            if (layer != experiment.EffectiveLayer)
            {
                layer = experiment.EffectiveLayer;
                bucket = Bucket(tenant, "layer:" + layer, user);
            }

            if (bucket < experiment.BucketFirst || bucket >= experiment.BucketFirst + experiment.BucketCount)
            {
                continue;
            }

            if (!Admits(experiment.Targeting, facts))
            {
                return null; // the bucket is this experiment's: the user sits it out rather than joining another one
            }

            var index = VariantOf(experiment, tenant, user);
            return new Assigned(experiment, experiment.Variants[index], index);
        }

        return null;
    }

    /// <summary>The index of the user's variant, by weight.</summary>
    public static int VariantOf(Experiment experiment, string tenant, string user)
    {
        var total = 0;
        foreach (var variant in experiment.Variants)
        {
            total += variant.Weight;
        }

        var point = Bucket(tenant, "experiment:" + experiment.Id, user, total);
        for (var i = 0; i < experiment.Variants.Count; i++)
        {
            point -= experiment.Variants[i].Weight;
            if (point < 0)
            {
                return i;
            }
        }

        return experiment.Variants.Count - 1;
    }

    /// <summary>Whether the experiment changes lists of <paramref name="slot"/> (an experiment without a slot changes every list).</summary>
    public static bool AppliesTo(Experiment experiment, string? slot) =>
        experiment.Slot is null || string.Equals(experiment.Slot, slot, StringComparison.Ordinal);

    public static bool Admits(Targeting? targeting, UserFacts facts)
    {
        if (targeting is null)
        {
            return true;
        }

        if (targeting.Segments.Count > 0)
        {
            if (facts.Segment is not { } segment)
            {
                return false;
            }

            var id = segment.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!targeting.Segments.Any(s => s == id || string.Equals(s, segment.Label, StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }
        }

        foreach (var (name, allowed) in targeting.Attributes)
        {
            if (!facts.Attributes.TryGetValue(name, out var value) || !allowed.Any(a => string.Equals(a, value, StringComparison.OrdinalIgnoreCase)))
            {
                return false;
            }
        }

        return true;
    }
}
