namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// A short, stable code per kind of rejection, for the statistics (rejected by reason): the validator's messages are
/// written for people and name values, so they are classified here by the phrase each kind of check uses.
/// </summary>
public static class RejectionCodes
{
    public const string MissingField = "missing_field";
    public const string InvalidValue = "invalid_value";
    public const string TooOld = "too_old";
    public const string InFuture = "in_future";
    public const string TooLarge = "too_large";
    public const string MalformedJson = "malformed_json";

    /// <summary>Every code, in the order the docs list them.</summary>
    public static IReadOnlyList<string> All { get; } = [MissingField, InvalidValue, TooOld, InFuture, TooLarge, MalformedJson];

    public static string Of(FieldError error)
    {
        var reason = error.Reason;
        if (reason.StartsWith("is required", StringComparison.Ordinal))
        {
            return MissingField;
        }

        if (reason.Contains("is older than the accepted", StringComparison.Ordinal) || reason.Contains("is before 1970", StringComparison.Ordinal))
        {
            return TooOld;
        }

        if (reason.Contains("is in the future", StringComparison.Ordinal))
        {
            return InFuture;
        }

        if (reason.Contains("the limit is", StringComparison.Ordinal) || reason.Contains("exceeds the limit", StringComparison.Ordinal)
            || reason.Contains("characters long", StringComparison.Ordinal))
        {
            return TooLarge;
        }

        return InvalidValue;
    }
}
