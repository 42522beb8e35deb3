using System.Text.RegularExpressions;
using ProfileGrid.Recommendations.Rules;

namespace ProfileGrid.Experiments.Design;

/// <summary>Checks an experiment's definition, naming each field the way the client wrote it (variants[1].weight).</summary>
public static partial class ExperimentValidator
{
    public const int MaxVariants = 20;
    public const int MaxWeight = 10_000;

    /// <summary>The attributes targeting may name: what the profile knows of every user.</summary>
    public static readonly IReadOnlyList<string> TargetableAttributes = ["country", "gender", "age_band", "language", "channel", "device"];

    /// <summary>
    /// The values a profile can hold for each targetable attribute (compared ignoring case), and how to say so: a value
    /// outside them assigns nobody, while the experiment holds its share of its layer (probe67: "germany" for DE, and
    /// "90_99", ran with no user and no warning).
    /// </summary>
    private static readonly Dictionary<string, (IReadOnlySet<string> Values, string Expected)> TargetableValues = new(StringComparer.Ordinal)
    {
        ["country"] = (ProfileGrid.Recommendations.Catalog.IsoRegions.Countries, "an ISO 3166-1 alpha-2 country code (e.g. DE)"),
        ["language"] = (ProfileGrid.Recommendations.Catalog.IsoRegions.Languages, "an ISO 639-1 language code (e.g. de)"),
        ["gender"] = (new HashSet<string>(["female", "male", "non_binary"]), "female, male or non_binary"),
        ["age_band"] = (new HashSet<string>(["under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus"]), "under_18, 18_24, 25_34, 35_44, 45_54, 55_64 or 65_plus"),
        ["channel"] = (new HashSet<string>(["web", "app", "crm"]), "web, app or crm"),
        ["device"] = (new HashSet<string>(["desktop", "mobile", "tablet", "tv", "other"]), "desktop, mobile, tablet, tv or other"),
    };

    [GeneratedRegex("^[a-z0-9_-]{1,64}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z0-9_-]{1,32}$")]
    private static partial Regex KeyPattern();

    public static IReadOnlyList<FieldProblem> Validate(Experiment experiment)
    {
        var problems = new List<FieldProblem>();
        if (!IdPattern().IsMatch(experiment.Id ?? ""))
        {
            problems.Add(new("id", $"'{experiment.Id}' must be 1-64 characters of a-z, 0-9, '-' and '_'"));
        }

        if (experiment.Name is { Length: > 200 } name)
        {
            problems.Add(new("name", $"is {name.Length} characters long; the limit is 200"));
        }
        else if (TextChecks.NulProblem(experiment.Name) is { } nul)
        {
            problems.Add(new("name", nul));
        }

        if (experiment.Slot is { } slot && !IdPattern().IsMatch(slot))
        {
            problems.Add(new("slot", $"'{slot}' must be 1-64 characters of a-z, 0-9, '-' and '_' (or left out for every slot)"));
        }

        if (experiment.Layer is { } layer && !IdPattern().IsMatch(layer))
        {
            problems.Add(new("layer", $"'{layer}' must be 1-64 characters of a-z, 0-9, '-' and '_' (or left out: the slot's layer)"));
        }

        if (!(experiment.Traffic > 0 && experiment.Traffic <= 1))
        {
            problems.Add(new("traffic", $"must be more than 0 and at most 1, the share of the layer's users (is {experiment.Traffic})"));
        }

        ValidateVariants(experiment.Variants, problems);
        if (experiment.Targeting is { } targeting)
        {
            ValidateTargeting(targeting, problems);
        }

        return problems;
    }

    private static void ValidateVariants(IReadOnlyList<Variant> variants, List<FieldProblem> problems)
    {
        if (variants.Count is < 2 or > MaxVariants)
        {
            problems.Add(new("variants", $"holds {variants.Count}; an experiment compares 2 to {MaxVariants} variants"));
            return;
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < variants.Count; i++)
        {
            var variant = variants[i];
            var key = variant.Key ?? ""; // JSON may leave it out
            if (!KeyPattern().IsMatch(key))
            {
                problems.Add(new($"variants[{i}].key", $"'{key}' must be 1-32 characters of a-z, 0-9, '-' and '_'"));
            }
            else if (!keys.Add(key))
            {
                problems.Add(new($"variants[{i}].key", $"'{key}' names two variants"));
            }

            if (variant.Weight is < 1 or > MaxWeight)
            {
                problems.Add(new($"variants[{i}].weight", $"must be between 1 and {MaxWeight} (is {variant.Weight})"));
            }

            if (!Algorithms.All.Contains(variant.Config.Algorithm))
            {
                problems.Add(new($"variants[{i}].config.algorithm", $"'{variant.Config.Algorithm}' is not one of {string.Join(", ", Algorithms.All)}"));
            }
        }

        var controls = variants.Count(v => v.Control);
        if (controls != 1)
        {
            problems.Add(new("variants", $"{controls} variants are marked control; exactly one is the control the others are compared with"));
        }
    }

    private static void ValidateTargeting(Targeting targeting, List<FieldProblem> problems)
    {
        for (var i = 0; i < targeting.Segments.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(targeting.Segments[i]) || targeting.Segments[i].Length > 128)
            {
                problems.Add(new($"targeting.segments[{i}]", "must be a segment label or id of 1-128 characters"));
            }
        }

        foreach (var (name, values) in targeting.Attributes)
        {
            if (!TargetableAttributes.Contains(name))
            {
                problems.Add(new($"targeting.attributes.{name}", $"is not one of {string.Join(", ", TargetableAttributes)}"));
            }
            else if (values.Count == 0 || values.Any(string.IsNullOrWhiteSpace))
            {
                problems.Add(new($"targeting.attributes.{name}", "needs at least one value, none blank"));
            }
            else if (TargetableValues.TryGetValue(name, out var known))
            {
                for (var i = 0; i < values.Count; i++)
                {
                    if (!known.Values.Contains(values[i].ToLowerInvariant()) && !known.Values.Contains(values[i].ToUpperInvariant()))
                    {
                        problems.Add(new($"targeting.attributes.{name}.values[{i}]", $"'{values[i]}' is no value a profile holds: expected {known.Expected}"));
                    }
                }
            }
        }
    }
}
