namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// A short, stable code for why an event was rejected: the tag of <c>profilegrid.events.rejected</c>, one of a fixed
/// set so that the series a scraper keeps stay bounded. The validator's reasons are sentences for the client (with the
/// offending value in them); the code is read from their fixed part. RejectionReasonsTests runs the validator on one
/// bad event of each kind, so a reworded message that would move to another code fails there.
/// </summary>
public static class RejectionReasons
{
    /// <summary>A required field is missing or empty.</summary>
    public const string MissingField = "missing_field";

    /// <summary>A value is longer, or a list holds more, or an amount is larger, than its limit.</summary>
    public const string OverLimit = "over_limit";

    /// <summary>A timestamp later than the server's clock allows.</summary>
    public const string InFuture = "in_future";

    /// <summary>A timestamp older than the accepted age (or before 1970).</summary>
    public const string TooOld = "too_old";

    /// <summary>A code (event type, source, device, gender) that is not one of the known ones.</summary>
    public const string UnknownCode = "unknown_code";

    /// <summary>A value in the wrong format: a timestamp, decimal, locale or ISO code that does not parse.</summary>
    public const string InvalidFormat = "invalid_format";

    /// <summary>The REST body's JSON for this event did not fit the contract (wrong JSON type, null, unknown field).</summary>
    public const string MalformedJson = "malformed_json";

    /// <summary>Any other rule: control characters, a dot-segment id, a duplicate item in a list, a value out of range.</summary>
    public const string InvalidValue = "invalid_value";

    /// <summary>Every code, for documentation and tests.</summary>
    public static IReadOnlyList<string> All { get; } = [MissingField, OverLimit, InFuture, TooOld, UnknownCode, InvalidFormat, MalformedJson, InvalidValue];

    /// <summary>The code of a validator error.</summary>
    public static string Of(FieldError error)
    {
        var reason = error.Reason;
        if (reason.StartsWith("is required", StringComparison.Ordinal))
        {
            return MissingField;
        }

        if (reason.Contains("the limit is", StringComparison.Ordinal) || reason.Contains("exceeds the limit", StringComparison.Ordinal)
            || reason.Contains(" characters long", StringComparison.Ordinal) || (reason.StartsWith("key '", StringComparison.Ordinal) && reason.Contains(" characters", StringComparison.Ordinal)))
        {
            return OverLimit;
        }

        if (reason.Contains(" is in the future", StringComparison.Ordinal))
        {
            return InFuture;
        }

        if (reason.Contains(" is older than the accepted", StringComparison.Ordinal) || reason.Contains(" is before 1970", StringComparison.Ordinal))
        {
            return TooOld;
        }

        if (reason.Contains("' is not one of ", StringComparison.Ordinal))
        {
            return UnknownCode;
        }

        if (reason.Contains("' is not a", StringComparison.Ordinal) || reason.Contains("' is not an", StringComparison.Ordinal))
        {
            return InvalidFormat;
        }

        return InvalidValue;
    }
}
