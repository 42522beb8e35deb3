using ProfileGrid.Grains.Recommendations;
using System.Collections;
using System.ComponentModel;
using System.Reflection;
using ProfileGrid.Domain;
using ProfileGrid.Grains;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Segments;
using ProfileGrid.Silo.Gateway;

namespace ProfileGrid.Silo.Hosting;

/// <summary>
/// Checks every "ProfileGrid:*" setting at start-up, before anything starts: each options class bound under
/// "ProfileGrid" is bound and validated, and every key is walked against the bound types' public properties, because
/// .NET configuration binding silently ignores a key it does not know, so a typo (Endpoints:RestPort for
/// Endpoints:HttpPort) would leave the default in force. Dictionary-typed options take any key (their keys are data,
/// e.g. exchange rates); lists take indices; a single value takes no sub-keys.
/// </summary>
public static class SettingsCheck
{
    public const string Root = HostSettings.Section;

    /// <summary>Every options class bound from configuration under "ProfileGrid", with the section it binds from.</summary>
    public static IReadOnlyList<(string Section, Type Type)> BoundSections { get; } =
    [
        (HostSettings.Section, typeof(HostSettings)),
        (GatewayOptions.Section, typeof(GatewayOptions)),
        (ProfileGridGrainsExtensions.ProfileSection, typeof(ProfileOptions)),
        (IngestOptions.Section, typeof(IngestOptions)),
        (ResidencyOptions.Section, typeof(ResidencyOptions)),
        (SegmentationOptions.Section, typeof(SegmentationOptions)),
        (RecommendationOptions.Section, typeof(RecommendationOptions)),
        (RerankingOptions.Section, typeof(RerankingOptions)),
        (DashboardOptions.Section, typeof(DashboardOptions)),
        (Operations.TelemetrySettings.Section, typeof(Operations.TelemetrySettings)),
        (Operations.AdminSettings.Section, typeof(Operations.AdminSettings)),
        (Operations.HealthSettings.Section, typeof(Operations.HealthSettings)),
        (ProfileGrid.Grains.Stats.StatsOptions.Section, typeof(ProfileGrid.Grains.Stats.StatsOptions)),
        (Access.AuthSettings.Section, typeof(Access.AuthSettings)),
        (ProfileGrid.Grains.Lake.LakeOptions.Section, typeof(ProfileGrid.Grains.Lake.LakeOptions)),
        (ProfileGrid.Grains.Identity.IdentityOptions.Section, typeof(ProfileGrid.Grains.Identity.IdentityOptions)),
        (ProfileGrid.Experiments.Fairness.FairnessOptions.SectionName, typeof(ProfileGrid.Experiments.Fairness.FairnessOptions)),
    ];

    /// <summary>Every problem with the "ProfileGrid" settings, each naming the full setting; empty when all is well.</summary>
    public static IReadOnlyList<string> Problems(IConfiguration configuration)
    {
        var problems = new List<string>();
        foreach (var (section, type) in BoundSections)
        {
            problems.AddRange(Validate(configuration.GetSection(section), type));
        }

        problems.AddRange(UnknownKeys(configuration));
        return problems;
    }

    /// <summary>Keys under "ProfileGrid" that no options class binds.</summary>
    public static IReadOnlyList<string> UnknownKeys(IConfiguration configuration)
    {
        var problems = new List<string>();
        CheckObject(configuration.GetSection(Root), typeof(HostSettings), problems);
        return problems;
    }

    /// <summary>Keys under <paramref name="section"/> that <paramref name="type"/> does not bind (for settings read by other processes, such as the dev host's).</summary>
    public static IReadOnlyList<string> UnknownKeys(IConfigurationSection section, Type type)
    {
        var problems = new List<string>();
        CheckObject(section, type, problems);
        return problems;
    }

    private static IEnumerable<string> Validate(IConfigurationSection section, Type type)
    {
        object? options;
        try
        {
            options = section.Get(type) ?? Activator.CreateInstance(type);
        }
        catch (InvalidOperationException ex)
        {
            // "Failed to convert configuration value '...' at 'ProfileGrid:Endpoints:HttpPort' to type 'System.Int32'."
            return [ex.Message];
        }

        var validate = type.GetMethod("Validate", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
        if (validate?.Invoke(options, null) is not IEnumerable<string> problems)
        {
            return [];
        }

        return problems.Select(p => p.StartsWith(section.Path, StringComparison.Ordinal) ? p : $"{section.Path}: {p}").ToList();
    }

    private static void CheckObject(IConfigurationSection section, Type type, List<string> problems)
    {
        var settings = Settings(type);
        foreach (var child in section.GetChildren())
        {
            var nested = BoundSections.FirstOrDefault(b => string.Equals(b.Section, child.Path, StringComparison.OrdinalIgnoreCase));
            if (nested.Type is not null)
            {
                CheckObject(child, nested.Type, problems);
            }
            else if (settings.TryGetValue(child.Key, out var property))
            {
                CheckValue(child, property.PropertyType, problems);
            }
            else
            {
                var known = settings.Keys.Concat(BoundSections.Where(b => IsChildOf(b.Section, section.Path)).Select(b => b.Section[(section.Path.Length + 1)..]));
                var suggestion = Suggestion(child.Key, known, section.Path);
                problems.AddRange(Leaves(child).Select(leaf => $"{leaf} is not a setting{suggestion}; it would be ignored."));
            }
        }
    }

    /// <summary>The full names of the values set at or below <paramref name="section"/>.</summary>
    private static IEnumerable<string> Leaves(IConfigurationSection section)
    {
        var leaves = section.AsEnumerable().Where(pair => pair.Value is not null).Select(pair => pair.Key).Order(StringComparer.OrdinalIgnoreCase).ToList();
        return leaves.Count > 0 ? leaves : [section.Path];
    }

    private static void CheckValue(IConfigurationSection section, Type type, List<string> problems)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (IsSingleValue(type))
        {
            foreach (var child in section.GetChildren())
            {
                problems.AddRange(Leaves(child).Select(leaf => $"{leaf} is not a setting: {section.Path} takes a single value; it would be ignored."));
            }
        }
        else if (DictionaryValueType(type) is { } valueType)
        {
            foreach (var child in section.GetChildren())
            {
                CheckValue(child, valueType, problems);
            }
        }
        else if (ElementType(type) is { } elementType)
        {
            foreach (var child in section.GetChildren())
            {
                CheckValue(child, elementType, problems);
            }
        }
        else
        {
            CheckObject(section, type, problems);
        }
    }

    /// <summary>What the binder sets: public instance properties with a public setter, or complex ones it can fill in place.</summary>
    private static Dictionary<string, PropertyInfo> Settings(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetMethod?.IsPublic == true && p.GetIndexParameters().Length == 0
                && (p.SetMethod?.IsPublic == true || !IsSingleValue(Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType)))
            .ToDictionary(p => p.GetCustomAttribute<ConfigurationKeyNameAttribute>()?.Name ?? p.Name, StringComparer.OrdinalIgnoreCase);

    private static bool IsSingleValue(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(object)
        || TypeDescriptor.GetConverter(type).CanConvertFrom(typeof(string));

    private static Type? DictionaryValueType(Type type) =>
        new[] { type }.Concat(type.GetInterfaces())
            .FirstOrDefault(t => t.IsGenericType && t.GetGenericTypeDefinition() is var d && (d == typeof(IDictionary<,>) || d == typeof(IReadOnlyDictionary<,>)))
            ?.GetGenericArguments()[1];

    private static Type? ElementType(Type type) =>
        type.IsArray ? type.GetElementType()
        : typeof(IEnumerable).IsAssignableFrom(type)
            ? new[] { type }.Concat(type.GetInterfaces()).FirstOrDefault(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0]
            : null;

    private static bool IsChildOf(string section, string parent) =>
        section.Length > parent.Length + 1 && section.StartsWith(parent + ":", StringComparison.OrdinalIgnoreCase) && section.IndexOf(':', parent.Length + 1) < 0;

    private static string Suggestion(string key, IEnumerable<string> known, string parent)
    {
        var best = known.Select(k => (Key: k, Distance: Distance(key.ToLowerInvariant(), k.ToLowerInvariant())))
            .Where(k => k.Distance <= Math.Max(2, k.Key.Length / 3))
            .OrderBy(k => k.Distance)
            .FirstOrDefault();
        return best.Key is null ? $" (known under {parent}: {string.Join(", ", known.Order(StringComparer.Ordinal))})" : $" (did you mean {parent}:{best.Key}?)";
    }

    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }

        return row[b.Length];
    }
}
