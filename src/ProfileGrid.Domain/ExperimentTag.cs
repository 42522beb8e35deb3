using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace ProfileGrid.Domain;

/// <summary>
/// The tag a recommendation id served in an experiment ends in: -x{experiment number}v{variant index}u{user check}, the
/// user check being 4 hex digits of a hash of the user the list was served for (<see cref="UserCheck"/>). Feedback on
/// the list counts for the variant only in that user's profile: another user quoting the id (a cached page, a shared
/// link) is not moved into a variant they were not assigned. Ids of the earlier form, without the check, still count.
/// </summary>
public static class ExperimentTag
{
    public static string Of(int experiment, int variant, string servedFor) =>
        string.Create(CultureInfo.InvariantCulture, $"-x{experiment}v{variant}u{UserCheck(servedFor):x4}");

    public static bool TryParse(string recommendationId, out int experiment, out int variant) =>
        TryParse(recommendationId, out experiment, out variant, out _);

    /// <summary>Reads the tag; <paramref name="userCheck"/> is null for an id of the earlier form, without one.</summary>
    public static bool TryParse(string recommendationId, out int experiment, out int variant, out int? userCheck)
    {
        (experiment, variant, userCheck) = (0, 0, null);
        var id = recommendationId.AsSpan();
        var x = id.LastIndexOf("-x", StringComparison.Ordinal);
        if (x < 0)
        {
            return false;
        }

        var tag = id[(x + 2)..];
        var u = tag.IndexOf('u');
        if (u >= 0)
        {
            if (tag.Length - u - 1 != 4 || !int.TryParse(tag[(u + 1)..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var check) ||
                tag[(u + 1)..].ContainsAnyExcept("0123456789abcdef"))
            {
                return false;
            }

            userCheck = check;
            tag = tag[..u];
        }

        var v = tag.IndexOf('v');
        return v > 0
            && int.TryParse(tag[..v], NumberStyles.None, CultureInfo.InvariantCulture, out experiment)
            && int.TryParse(tag[(v + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out variant)
            && experiment > 0 && variant < 100;
    }

    /// <summary>16 bits of SHA-256 of the user id (its UTF-16 code units): what a tag checks its quoting profile against.</summary>
    public static int UserCheck(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(MemoryMarshal.AsBytes(userId.AsSpan()), digest);
        return BinaryPrimitives.ReadUInt16BigEndian(digest);
    }
}
