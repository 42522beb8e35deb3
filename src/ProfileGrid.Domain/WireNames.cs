using System.Collections.Frozen;
using System.Text.Json;

namespace ProfileGrid.Domain;

/// <summary>The snake_case names enums have on the wire and in the JSON document (EventKind.PageView is "page_view").</summary>
public static class WireNames
{
    public static string Of<TEnum>(TEnum value) where TEnum : struct, Enum =>
        NamesOf<TEnum>.Names.TryGetValue(value, out var name) ? name : ToSnakeCase(value.ToString());

    private static string ToSnakeCase(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);

    private static class NamesOf<TEnum> where TEnum : struct, Enum
    {
        public static readonly FrozenDictionary<TEnum, string> Names =
            Enum.GetValues<TEnum>().Distinct().ToFrozenDictionary(v => v, v => ToSnakeCase(v.ToString()));
    }
}
