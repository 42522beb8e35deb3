using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Abstractions.Recommendations;

namespace ProfileGrid.Grains;

/// <summary>
/// The part of a packed profile that <c>Recommend</c> reads: the consent flag and the item history, kept beside the
/// compressed state in a plain binary form, so that serving reads a packed profile without unpacking it (unpacking builds
/// the whole object graph, which then lives until the profile packs again: by measurement the largest share of the
/// serving path's allocations and of its tail). Written by hand because it is a dozen fields in a private, in-process
/// format that a general serializer would wrap in type headers; the items leave the compressed state, so they are held once.
/// </summary>
/// <remarks>
/// Layout: a flags byte (bits 0-1: consent 0 unset, 1 false, 2 true; bit 2: events applied), the item count (varint),
/// then per item: the id (varint length, UTF-8), views, cart adds and purchases (varints), a flags byte (bit 0 rating,
/// bit 1 rated-at, bit 2 a non-zero offset on last-at, bit 3 on rated-at), the rating (8 bytes), last-at as the zigzag
/// varint of its ticks minus the previous item's, its offset in minutes (2 bytes) when not zero, then rated-at likewise;
/// then the count (varint) of the items shown and not clicked since, and per item its id and that count (varints); then
/// the count (varint) of the hashes of forgotten items bought or rated and each (4 bytes); then the count (varint) of
/// the experiments the profile met and each one's number and variant (varints); then what experiments target:
/// birth year (varint, 0 unknown), gender (byte, 0 unknown, else the enum + 1), country and
/// language (varint UTF-8 length + 1, 0 for none, then the bytes), last channel and last device (bytes). The
/// section lives in memory only (packed idle profiles), so its layout may change between releases.
/// </remarks>
internal static class PackedServingInput
{
    private const byte HasRating = 1;
    private const byte HasRatedAt = 2;
    private const byte LastAtOffset = 4;
    private const byte RatedAtOffset = 8;

    public static void Write(ArrayBufferWriter<byte> output, UserProfile profile)
    {
        var consent = profile.Preferences.PersonalizationOptIn switch { null => 0, false => 1, true => 2 };
        WriteByte(output, (byte)(consent | (profile.EventsApplied > 0 ? 4 : 0)));
        var items = profile.Behavior.Items;
        WriteVarint(output, (ulong)items.Count);
        long previous = 0;
        foreach (var (id, stats) in items)
        {
            WriteId(output, id);
            WriteVarint(output, (uint)stats.Views);
            WriteVarint(output, (uint)stats.CartAdds);
            WriteVarint(output, (uint)stats.Purchases);
            var flags = (byte)((stats.Rating is null ? 0 : HasRating) | (stats.RatedAt is null ? 0 : HasRatedAt)
                | (stats.LastAt.Offset == TimeSpan.Zero ? 0 : LastAtOffset)
                | (stats.RatedAt is { } rated && rated.Offset != TimeSpan.Zero ? RatedAtOffset : 0));
            WriteByte(output, flags);
            if (stats.Rating is { } rating)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(output.GetSpan(8), rating);
                output.Advance(8);
            }

            previous = WriteTime(output, stats.LastAt, previous, (flags & LastAtOffset) != 0);
            if (stats.RatedAt is { } ratedAt)
            {
                previous = WriteTime(output, ratedAt, previous, (flags & RatedAtOffset) != 0);
            }
        }

        // The items shown and not clicked since (a copy: the feedback layer itself stays in the compressed state).
        var ignored = Ignored(profile.Feedback) ?? [];
        WriteVarint(output, (ulong)ignored.Length);
        foreach (var item in ignored)
        {
            WriteId(output, item.ItemId);
            WriteVarint(output, (uint)item.ShownSinceClick);
        }

        // Items bought or rated that the item bound forgot (a copy: the list stays in the compressed state too).
        var forgottenOwned = profile.Behavior.ForgottenOwned;
        WriteVarint(output, (ulong)(forgottenOwned?.Count ?? 0));
        foreach (var hash in forgottenOwned ?? [])
        {
            BinaryPrimitives.WriteUInt32LittleEndian(output.GetSpan(4), hash);
            output.Advance(4);
        }

        // The experiments' variants the profile met (a copy: the outcomes stay in the compressed state).
        WriteVarint(output, (ulong)profile.Feedback.Experiments.Count);
        foreach (var (number, outcome) in profile.Feedback.Experiments)
        {
            WriteVarint(output, (uint)number);
            WriteVarint(output, (uint)outcome.Variant);
        }

        // What experiments' targeting looks at.
        var targeting = UserTargeting.Of(profile);
        WriteVarint(output, (uint)(targeting.BirthYear ?? 0));
        WriteByte(output, (byte)(targeting.Gender is { } gender ? (int)gender + 1 : 0));
        WriteString(output, targeting.Country);
        WriteString(output, targeting.Language);
        WriteByte(output, (byte)(targeting.Channel ?? 0));
        WriteByte(output, (byte)(targeting.Device ?? 0));
    }

    /// <summary>An id: its UTF-8 length (varint), then its bytes.</summary>
    private static void WriteId(ArrayBufferWriter<byte> output, string id)
    {
        var length = Encoding.UTF8.GetByteCount(id);
        WriteVarint(output, (ulong)length);
        Encoding.UTF8.GetBytes(id, output.GetSpan(length));
        output.Advance(length);
    }

    private static void WriteString(ArrayBufferWriter<byte> output, string? text)
    {
        if (text is null)
        {
            WriteVarint(output, 0);
            return;
        }

        var length = Encoding.UTF8.GetByteCount(text);
        WriteVarint(output, (ulong)length + 1);
        Encoding.UTF8.GetBytes(text, output.GetSpan(length));
        output.Advance(length);
    }

    private static string? ReadString(ReadOnlySpan<byte> section, ref int at)
    {
        var length = (int)ReadVarint(section, ref at);
        if (length == 0)
        {
            return null;
        }

        var text = SharedItemIds.FromUtf8(section.Slice(at, length - 1));
        at += length - 1;
        return text;
    }

    /// <summary>The items of the feedback layer shown and not clicked since, as serving reads them; null when none.</summary>
    public static ShownItem[]? Ignored(FeedbackState feedback)
    {
        var count = 0;
        foreach (var exposure in feedback.Exposures.Values)
        {
            count += exposure.ShownSinceClick > 0 ? 1 : 0;
        }

        if (count == 0)
        {
            return null;
        }

        var ignored = new ShownItem[count];
        var i = 0;
        foreach (var (id, exposure) in feedback.Exposures)
        {
            if (exposure.ShownSinceClick > 0)
            {
                ignored[i++] = new ShownItem(id, exposure.ShownSinceClick);
            }
        }

        return ignored;
    }

    /// <summary>What <c>Recommend</c> needs, read from the section alone.</summary>
    public static (bool? PersonalizationOptIn, bool EventsApplied, ItemInteractionView[] Items, ShownItem[]? Ignored, UserTargeting? Targeting, uint[]? ForgottenOwned, ExperimentVariant[]? ExposedVariants) ReadServingInput(
        ReadOnlySpan<byte> section, bool withTargeting = false)
    {
        var at = 0;
        var (consent, eventsApplied) = ReadFlags(section, ref at);
        var items = new ItemInteractionView[(int)ReadVarint(section, ref at)];
        long previous = 0;
        for (var i = 0; i < items.Length; i++)
        {
            var item = ReadItem(section, ref at, ref previous);
            items[i] = new ItemInteractionView(item.Id, item.Views, item.CartAdds, item.Purchases, item.Rating, item.LastAt);
        }

        var ignoredCount = (int)ReadVarint(section, ref at);
        ShownItem[]? ignored = ignoredCount == 0 ? null : new ShownItem[ignoredCount];
        for (var i = 0; i < ignoredCount; i++)
        {
            var length = (int)ReadVarint(section, ref at);
            var id = SharedItemIds.FromUtf8(section.Slice(at, length));
            at += length;
            ignored![i] = new ShownItem(id, (int)ReadVarint(section, ref at));
        }

        var ownedCount = (int)ReadVarint(section, ref at);
        uint[]? forgottenOwned = ownedCount == 0 ? null : new uint[ownedCount];
        for (var i = 0; i < ownedCount; i++)
        {
            forgottenOwned![i] = BinaryPrimitives.ReadUInt32LittleEndian(section.Slice(at, 4));
            at += 4;
        }

        var exposedCount = (int)ReadVarint(section, ref at);
        ExperimentVariant[]? exposed = exposedCount == 0 ? null : new ExperimentVariant[exposedCount];
        for (var i = 0; i < exposedCount; i++)
        {
            exposed![i] = new ExperimentVariant((int)ReadVarint(section, ref at), (int)ReadVarint(section, ref at));
        }

        UserTargeting? targeting = null;
        if (withTargeting)
        {
            var birthYear = (int)ReadVarint(section, ref at);
            var gender = section[at++];
            var country = ReadString(section, ref at);
            var language = ReadString(section, ref at);
            var channel = section[at++];
            var device = section[at++];
            targeting = new UserTargeting(
                birthYear == 0 ? null : birthYear,
                gender == 0 ? null : (Abstractions.Events.Gender)(gender - 1),
                country,
                language,
                channel == 0 ? null : (Abstractions.Events.Channel)channel,
                device == 0 ? null : (Abstractions.Events.DeviceType)device);
        }

        return (consent, eventsApplied, items, ignored, targeting, forgottenOwned, exposed);
    }

    /// <summary>Puts the items back into an unpacked profile, in the order they were written.</summary>
    public static void Restore(ReadOnlySpan<byte> section, Dictionary<string, ItemStats> items)
    {
        var at = 0;
        ReadFlags(section, ref at);
        var count = (int)ReadVarint(section, ref at);
        items.EnsureCapacity(count);
        long previous = 0;
        for (var i = 0; i < count; i++)
        {
            var item = ReadItem(section, ref at, ref previous);
            items[item.Id] = new ItemStats
            {
                Views = item.Views, CartAdds = item.CartAdds, Purchases = item.Purchases, Rating = item.Rating, LastAt = item.LastAt, RatedAt = item.RatedAt,
            };
        }
    }

    private static (bool? Consent, bool EventsApplied) ReadFlags(ReadOnlySpan<byte> section, ref int at)
    {
        var flags = section[at++];
        bool? consent = (flags & 3) switch { 0 => null, 1 => false, _ => true };
        return (consent, (flags & 4) != 0);
    }

    private readonly record struct PackedItem(string Id, int Views, int CartAdds, int Purchases, double? Rating, DateTimeOffset LastAt, DateTimeOffset? RatedAt);

    private static PackedItem ReadItem(ReadOnlySpan<byte> section, ref int at, ref long previous)
    {
        var length = (int)ReadVarint(section, ref at);
        var id = SharedItemIds.FromUtf8(section.Slice(at, length));
        at += length;
        var views = (int)ReadVarint(section, ref at);
        var cartAdds = (int)ReadVarint(section, ref at);
        var purchases = (int)ReadVarint(section, ref at);
        var flags = section[at++];
        double? rating = null;
        if ((flags & HasRating) != 0)
        {
            rating = BinaryPrimitives.ReadDoubleLittleEndian(section.Slice(at, 8));
            at += 8;
        }

        var lastAt = ReadTime(section, ref at, ref previous, (flags & LastAtOffset) != 0);
        DateTimeOffset? ratedAt = (flags & HasRatedAt) != 0 ? ReadTime(section, ref at, ref previous, (flags & RatedAtOffset) != 0) : null;
        return new PackedItem(id, views, cartAdds, purchases, rating, lastAt, ratedAt);
    }

    private static long WriteTime(ArrayBufferWriter<byte> output, DateTimeOffset time, long previous, bool withOffset)
    {
        var delta = time.Ticks - previous;
        WriteVarint(output, (ulong)((delta << 1) ^ (delta >> 63)));
        if (withOffset)
        {
            BinaryPrimitives.WriteInt16LittleEndian(output.GetSpan(2), (short)time.Offset.TotalMinutes);
            output.Advance(2);
        }

        return time.Ticks;
    }

    private static DateTimeOffset ReadTime(ReadOnlySpan<byte> section, ref int at, ref long previous, bool withOffset)
    {
        var zigzag = ReadVarint(section, ref at);
        var ticks = previous + ((long)(zigzag >> 1) ^ -(long)(zigzag & 1));
        previous = ticks;
        var offset = TimeSpan.Zero;
        if (withOffset)
        {
            offset = TimeSpan.FromMinutes(BinaryPrimitives.ReadInt16LittleEndian(section.Slice(at, 2)));
            at += 2;
        }

        return new DateTimeOffset(ticks, offset);
    }

    private static void WriteByte(ArrayBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    private static void WriteVarint(ArrayBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        output.Advance(i);
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> section, ref int at)
    {
        ulong value = 0;
        var shift = 0;
        while (true)
        {
            var b = section[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }

            shift += 7;
        }
    }
}
