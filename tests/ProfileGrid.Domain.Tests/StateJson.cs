using System.Text.Json;

namespace ProfileGrid.Domain.Tests;

/// <summary>The raw persistent state as JSON: compares every stored field, including bookkeeping the document leaves out.</summary>
internal static class StateJson
{
    private static readonly JsonSerializerOptions Options = new() { WriteIndented = false };

    public static string Of(UserProfile profile) => JsonSerializer.Serialize(profile, Options);
}
