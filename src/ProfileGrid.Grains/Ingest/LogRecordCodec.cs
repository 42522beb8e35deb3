using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Ingest;

/// <summary>
/// The event log's own encoding of <see cref="ProfileBatch"/>es: a flat, positional binary layout written in one pass,
/// without the type headers and the reference tracking of Orleans' serializer (which tracks every string and object it
/// writes, and cost more CPU than anything else on the ingest path). Records in this encoding start with
/// <see cref="Marker"/>; the partition still reads the Orleans-serialized records of earlier releases.
/// <para>
/// Layout (little-endian; "varint" is 7-bit groups; a string is a varint of UTF-8 length + 1, 0 meaning null):
/// batches: varint count, then per batch the profile key and a varint event count, then the events. An event:
/// event id, kind (byte), tenant, user id, anonymous id, occurred-at UTC ticks (int64) and offset minutes (int16),
/// source (byte), a presence byte (bit 0 context, 1 page, 2 product, 3 search, 4 purchase, 5 identify, 6 preference,
/// 7 custom), then each part present in that order, then for a rating event (kind 11, and only for it, so that every
/// other record reads as before) its value as the bits of a float64, and for an impression or a click (kinds 12 and 13,
/// likewise) a presence byte and the feedback: recommendation id, slot, varint item count and the items, clicked item,
/// position as int32 (0: not given); for a refund (kind 14, likewise) a presence byte and the refund: refund id, order id,
/// currency, an amount presence byte and decimal, varint line count and the lines as a purchase's. A purchase ends with a
/// varint of its part (0 for a whole order) in records of marker -4; records of marker -3 (written until 2026-12) have
/// none and read as whole orders. Adding a field to an event means a new version of this layout (a new marker);
/// <c>LogRecordCodecTests</c> fails when a field is not carried.
/// </para>
/// </summary>
public static class LogRecordCodec
{
    /// <summary>First int32 of a record in this encoding (earlier records start with -3, -2, or a positive count).</summary>
    public const int Marker = -4;

    /// <summary>First int32 of a record in this encoding before purchases carried their part (written until 2026-12).</summary>
    public const int MarkerWithoutOrderParts = -3;

    private const byte HasContext = 1, HasPage = 2, HasProduct = 4, HasSearch = 8, HasPurchase = 16, HasIdentify = 32, HasPreference = 64, HasCustom = 128;

    /// <summary>Encodes the batches of one append.</summary>
    public static byte[] Encode(IReadOnlyList<ProfileBatch> batches)
    {
        var writer = Write(batches);
        return writer.ToArray();
    }

    /// <summary>
    /// Encodes the batches of one append into a buffer of the shared pool (payloads of tens of KB would otherwise be
    /// large-object garbage, one per append); give it back with <see cref="LogRecords.Return"/>.
    /// </summary>
    public static ArraySegment<byte> EncodeRented(IReadOnlyList<ProfileBatch> batches)
    {
        var events = 0;
        foreach (var batch in batches)
        {
            events += batch.Batch.Events.Count;
        }

        // Written straight into a pooled buffer sized for typical events (it grows if they are larger) and handed out as is.
        var writer = Write(batches, new Writer(ArrayPool<byte>.Shared.Rent(Math.Max(4096, events * 256))));
        return writer.ToRented();
    }

    private static Writer Write(IReadOnlyList<ProfileBatch> batches) => Write(batches, new Writer());

    private static Writer Write(IReadOnlyList<ProfileBatch> batches, Writer writer)
    {
        writer.VarInt((uint)batches.Count);
        foreach (var batch in batches)
        {
            writer.String(batch.ProfileKey);
            var events = batch.Batch.Events;
            writer.VarInt((uint)events.Count);
            for (var i = 0; i < events.Count; i++)
            {
                WriteEvent(ref writer, events[i]);
            }
        }

        return writer;
    }

    /// <summary>Decodes what <see cref="Encode"/> wrote (<paramref name="orderParts"/> false: a payload of a -3 record).</summary>
    public static ProfileBatch[] Decode(ReadOnlySpan<byte> payload, bool orderParts = true)
    {
        var reader = new Reader(payload);
        var batches = new ProfileBatch[reader.Count()];
        for (var b = 0; b < batches.Length; b++)
        {
            var key = reader.RequiredString();
            var events = new UserEvent[reader.Count()];
            for (var i = 0; i < events.Length; i++)
            {
                events[i] = ReadEvent(ref reader, orderParts);
            }

            batches[b] = new ProfileBatch(key, new EventBatch(events));
        }

        if (!reader.AtEnd)
        {
            throw new InvalidDataException("A log record payload has bytes after its last batch.");
        }

        return batches;
    }

    private static void WriteEvent(ref Writer w, UserEvent e)
    {
        w.String(e.EventId);
        w.Byte((byte)e.Kind);
        w.String(e.Tenant);
        w.String(e.UserId);
        w.String(e.AnonymousId);
        w.Int64(e.OccurredAt.UtcTicks);
        w.Int16((short)e.OccurredAt.TotalOffsetMinutes);
        w.Byte((byte)e.Source);
        var parts = (byte)((e.Context is null ? 0 : HasContext) | (e.Page is null ? 0 : HasPage) | (e.Product is null ? 0 : HasProduct)
            | (e.Search is null ? 0 : HasSearch) | (e.Purchase is null ? 0 : HasPurchase) | (e.Identify is null ? 0 : HasIdentify)
            | (e.Preference is null ? 0 : HasPreference) | (e.Custom is null ? 0 : HasCustom));
        w.Byte(parts);
        if (e.Context is { } c)
        {
            w.Byte((byte)c.Device);
            w.String(c.UserAgent);
            w.String(c.Country);
            w.String(c.Region);
            w.String(c.City);
            w.String(c.Locale);
            w.String(c.SessionId);
        }

        if (e.Page is { } page)
        {
            w.String(page.Url);
            w.String(page.Title);
            w.String(page.Referrer);
        }

        if (e.Product is { } product)
        {
            w.String(product.ProductId);
            w.String(product.Category);
            w.Int32(product.Quantity);
            w.Byte(product.UnitPrice is null ? (byte)0 : (byte)1);
            if (product.UnitPrice is { } price)
            {
                w.Decimal(price.Amount);
                w.String(price.Currency);
            }
        }

        if (e.Search is { } search)
        {
            w.String(search.Query);
            w.Int32(search.ResultCount);
        }

        if (e.Purchase is { } purchase)
        {
            w.String(purchase.OrderId);
            w.String(purchase.Currency);
            w.VarInt((uint)purchase.Lines.Count);
            foreach (var line in purchase.Lines)
            {
                w.String(line.ProductId);
                w.String(line.Category);
                w.Int32(line.Quantity);
                w.Decimal(line.UnitPrice);
            }

            w.VarInt((uint)purchase.Part);
        }

        if (e.Identify is { } identify)
        {
            w.Byte(identify.BirthYear is null ? (byte)0 : (byte)1);
            if (identify.BirthYear is { } year)
            {
                w.Int32(year);
            }

            w.Byte(identify.Gender is { } gender ? (byte)((int)gender + 1) : (byte)0);
            w.String(identify.Country);
            w.String(identify.Language);
            w.String(identify.City);
            w.Map(identify.Traits);
        }

        if (e.Preference is { } preference)
        {
            w.String(preference.Key);
            w.String(preference.Value);
            w.Flag(preference.EmailOptIn);
            w.Flag(preference.SmsOptIn);
            w.Flag(preference.PersonalizationOptIn);
        }

        if (e.Custom is { } custom)
        {
            w.String(custom.Name);
            w.Map(custom.Properties);
        }

        if (e.Kind == EventKind.Rating)
        {
            w.Int64(BitConverter.DoubleToInt64Bits(e.Rating ?? 0));
        }

        if (e.Kind == EventKind.Refund)
        {
            // Only refunds carry it, so records of every other kind read as before.
            var refund = e.Refund;
            w.Byte(refund is null ? (byte)0 : (byte)1);
            if (refund is not null)
            {
                w.String(refund.RefundId);
                w.String(refund.OrderId);
                w.String(refund.Currency);
                w.Byte(refund.Amount is null ? (byte)0 : (byte)1);
                if (refund.Amount is { } amount)
                {
                    w.Decimal(amount);
                }

                w.VarInt((uint)refund.Lines.Count);
                foreach (var line in refund.Lines)
                {
                    w.String(line.ProductId);
                    w.String(line.Category);
                    w.Int32(line.Quantity);
                    w.Decimal(line.UnitPrice);
                }
            }
        }

        if (e.Kind is EventKind.Impression or EventKind.Click)
        {
            // Only these kinds carry it, so records of every other kind read as before.
            var feedback = e.Feedback;
            w.Byte(feedback is null ? (byte)0 : (byte)1);
            if (feedback is not null)
            {
                w.String(feedback.RecommendationId);
                w.String(feedback.Slot);
                w.VarInt((uint)feedback.ItemIds.Count);
                foreach (var item in feedback.ItemIds)
                {
                    w.String(item);
                }

                w.String(feedback.ItemId);
                w.Int32(feedback.Position ?? 0);
            }
        }
    }

    private static UserEvent ReadEvent(ref Reader r, bool orderParts)
    {
        var eventId = r.RequiredString();
        var kind = (EventKind)r.Byte();
        var tenant = r.RequiredString();
        var userId = r.RequiredString();
        var anonymousId = r.String();
        var ticks = r.Int64();
        var offset = TimeSpan.FromMinutes(r.Int16());
        var occurredAt = new DateTimeOffset(ticks + offset.Ticks, offset);
        var source = (Channel)r.Byte();
        var parts = r.Byte();

        EventContext? context = null;
        if ((parts & HasContext) != 0)
        {
            context = new EventContext
            {
                Device = (DeviceType)r.Byte(),
                UserAgent = r.String(),
                Country = r.String(),
                Region = r.String(),
                City = r.String(),
                Locale = r.String(),
                SessionId = r.String(),
            };
        }

        PageInfo? page = null;
        if ((parts & HasPage) != 0)
        {
            page = new PageInfo { Url = r.String(), Title = r.String(), Referrer = r.String() };
        }

        ProductInfo? product = null;
        if ((parts & HasProduct) != 0)
        {
            var productId = r.RequiredString();
            var category = r.String();
            var quantity = r.Int32();
            Money? price = r.Byte() == 0 ? null : new Money(r.Decimal(), r.RequiredString());
            product = new ProductInfo { ProductId = productId, Category = category, Quantity = quantity, UnitPrice = price };
        }

        SearchInfo? search = null;
        if ((parts & HasSearch) != 0)
        {
            search = new SearchInfo { Query = r.RequiredString(), ResultCount = r.Int32() };
        }

        PurchaseInfo? purchase = null;
        if ((parts & HasPurchase) != 0)
        {
            var orderId = r.RequiredString();
            var currency = r.RequiredString();
            var count = r.Count();
            var lines = new List<PurchaseLine>(count);
            for (var i = 0; i < count; i++)
            {
                lines.Add(new PurchaseLine { ProductId = r.RequiredString(), Category = r.String(), Quantity = r.Int32(), UnitPrice = r.Decimal() });
            }

            purchase = new PurchaseInfo { OrderId = orderId, Currency = currency, Lines = lines, Part = orderParts ? r.Part() : 0 };
        }

        DemographicsUpdate? identify = null;
        if ((parts & HasIdentify) != 0)
        {
            int? birthYear = r.Byte() == 0 ? null : r.Int32();
            var gender = r.Byte();
            identify = new DemographicsUpdate
            {
                BirthYear = birthYear,
                Gender = gender == 0 ? null : (Gender)(gender - 1),
                Country = r.String(),
                Language = r.String(),
                City = r.String(),
                Traits = r.Map(),
            };
        }

        PreferenceUpdate? preference = null;
        if ((parts & HasPreference) != 0)
        {
            preference = new PreferenceUpdate
            {
                Key = r.String(),
                Value = r.String(),
                EmailOptIn = r.Flag(),
                SmsOptIn = r.Flag(),
                PersonalizationOptIn = r.Flag(),
            };
        }

        CustomInfo? custom = null;
        if ((parts & HasCustom) != 0)
        {
            custom = new CustomInfo { Name = r.RequiredString(), Properties = r.Map() };
        }

        double? rating = kind == EventKind.Rating ? BitConverter.Int64BitsToDouble(r.Int64()) : null;

        FeedbackInfo? feedback = null;
        if (kind is EventKind.Impression or EventKind.Click && r.Byte() != 0)
        {
            var recommendationId = r.RequiredString();
            var slot = r.String();
            var items = new string[r.Count()];
            for (var i = 0; i < items.Length; i++)
            {
                items[i] = r.RequiredString();
            }

            var itemId = r.String();
            var position = r.Int32();
            feedback = new FeedbackInfo { RecommendationId = recommendationId, Slot = slot, ItemIds = items, ItemId = itemId, Position = position == 0 ? null : position };
        }

        RefundInfo? refund = null;
        if (kind == EventKind.Refund && r.Byte() != 0)
        {
            var refundId = r.RequiredString();
            var orderId = r.String();
            var currency = r.RequiredString();
            decimal? amount = r.Byte() == 0 ? null : r.Decimal();
            var count = r.Count();
            var lines = new List<PurchaseLine>(count);
            for (var i = 0; i < count; i++)
            {
                lines.Add(new PurchaseLine { ProductId = r.RequiredString(), Category = r.String(), Quantity = r.Int32(), UnitPrice = r.Decimal() });
            }

            refund = new RefundInfo { RefundId = refundId, OrderId = orderId, Currency = currency, Amount = amount, Lines = lines };
        }

        return new UserEvent
        {
            EventId = eventId,
            Kind = kind,
            Tenant = tenant,
            UserId = userId,
            AnonymousId = anonymousId,
            OccurredAt = occurredAt,
            Source = source,
            Context = context,
            Page = page,
            Product = product,
            Search = search,
            Purchase = purchase,
            Identify = identify,
            Preference = preference,
            Custom = custom,
            Rating = rating,
            Feedback = feedback,
            Refund = refund,
        };
    }

    /// <summary>
    /// A growable buffer: the thread's scratch buffer (kept between calls, so encoding allocates nothing but its
    /// result), or one rented from the shared pool when a payload outgrows it. Encoding never awaits, so a thread's
    /// buffer is never shared.
    /// </summary>
    private struct Writer
    {
        private const int ScratchBytes = 256 * 1024;

        [ThreadStatic]
        private static byte[]? t_scratch;

        private byte[] _buffer;
        private int _length;
        private bool _scratch;

        public Writer()
        {
            _buffer = t_scratch ?? new byte[ScratchBytes];
            _scratch = true;
            t_scratch = null; // taken; given back by ToArray
        }

        /// <summary>A writer into a buffer of the shared pool, which <see cref="ToRented"/> hands out.</summary>
        public Writer(byte[] rented) => _buffer = rented;

        public byte[] ToArray()
        {
            var result = GC.AllocateUninitializedArray<byte>(_length);
            _buffer.AsSpan(0, _length).CopyTo(result);
            Release();
            return result;
        }

        public ArraySegment<byte> ToRented()
        {
            if (_scratch)
            {
                // Never hand out the thread's scratch buffer: copy it into one of the pool's.
                var copy = ArrayPool<byte>.Shared.Rent(_length);
                _buffer.AsSpan(0, _length).CopyTo(copy);
                var copied = _length;
                Release();
                return new ArraySegment<byte>(copy, 0, copied);
            }

            var result = new ArraySegment<byte>(_buffer, 0, _length);
            (_buffer, _length) = ([], 0);
            return result;
        }

        private void Release()
        {
            if (_scratch)
            {
                t_scratch = _buffer;
            }
            else
            {
                ArrayPool<byte>.Shared.Return(_buffer);
            }

            (_buffer, _length, _scratch) = ([], 0, false);
        }

        public void Byte(byte value) => Take(1)[0] = value;

        public void Int16(short value) => BinaryPrimitives.WriteInt16LittleEndian(Take(2), value);

        public void Int32(int value) => BinaryPrimitives.WriteInt32LittleEndian(Take(4), value);

        public void Int64(long value) => BinaryPrimitives.WriteInt64LittleEndian(Take(8), value);

        public void Decimal(decimal value)
        {
            Span<int> bits = stackalloc int[4];
            decimal.GetBits(value, bits);
            var span = Take(16);
            for (var i = 0; i < 4; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(span[(4 * i)..], bits[i]);
            }
        }

        public void Flag(bool? value) => Byte(value switch { null => 0, false => 1, true => 2 });

        public void VarInt(uint value)
        {
            var span = Take(5);
            var i = 0;
            while (value >= 0x80)
            {
                span[i++] = (byte)(value | 0x80);
                value >>= 7;
            }

            span[i++] = (byte)value;
            _length -= 5 - i;
        }

        public void String(string? value)
        {
            if (value is null)
            {
                VarInt(0);
                return;
            }

            var bytes = Encoding.UTF8.GetByteCount(value);
            VarInt((uint)bytes + 1);
            Encoding.UTF8.GetBytes(value, Take(bytes));
        }

        public void Map(IReadOnlyDictionary<string, string>? map)
        {
            if (map is null)
            {
                VarInt(0);
                return;
            }

            VarInt((uint)map.Count + 1);
            foreach (var (key, value) in map)
            {
                String(key);
                String(value);
            }
        }

        private Span<byte> Take(int count)
        {
            if (_length + count > _buffer.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + count));
                _buffer.AsSpan(0, _length).CopyTo(larger);
                if (_scratch)
                {
                    t_scratch = _buffer;
                }
                else
                {
                    ArrayPool<byte>.Shared.Return(_buffer);
                }

                (_buffer, _scratch) = (larger, false);
            }

            var span = _buffer.AsSpan(_length, count);
            _length += count;
            return span;
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _offset;

        public readonly bool AtEnd => _offset == _data.Length;

        public byte Byte() => Take(1)[0];

        public short Int16() => BinaryPrimitives.ReadInt16LittleEndian(Take(2));

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public decimal Decimal()
        {
            var span = Take(16);
            Span<int> bits = stackalloc int[4];
            for (var i = 0; i < 4; i++)
            {
                bits[i] = BinaryPrimitives.ReadInt32LittleEndian(span[(4 * i)..]);
            }

            return new decimal(bits);
        }

        public bool? Flag() => Byte() switch
        {
            0 => null,
            1 => false,
            2 => true,
            var other => throw new InvalidDataException($"A log record holds {other} where a flag belongs."),
        };

        public uint VarInt()
        {
            uint value = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = Byte();
                value |= (uint)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("A log record holds a malformed length.");
        }

        /// <summary>A purchase's part number (the gateway takes at most PurchaseInfo.MaxParts; anything far beyond is a misread).</summary>
        public int Part()
        {
            var part = VarInt();
            return part <= 1_000_000 ? (int)part : throw new InvalidDataException("A log record holds a part number no order has.");
        }

        /// <summary>A count of items that follow, each at least a byte: bounded by what is left.</summary>
        public int Count()
        {
            var count = VarInt();
            return count <= (uint)(_data.Length - _offset) ? (int)count : throw new InvalidDataException("A log record holds a count beyond its end.");
        }

        public string? String()
        {
            var length = VarInt();
            return length == 0 ? null : Encoding.UTF8.GetString(Take(checked((int)(length - 1))));
        }

        public string RequiredString() => String() ?? throw new InvalidDataException("A log record lacks a required string.");

        public Dictionary<string, string>? Map()
        {
            var count = VarInt();
            if (count == 0)
            {
                return null;
            }

            var map = new Dictionary<string, string>((int)Math.Min(count - 1, 1024), StringComparer.Ordinal);
            for (var i = 1u; i < count; i++)
            {
                map[RequiredString()] = RequiredString();
            }

            return map;
        }

        private ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || _offset + count > _data.Length)
            {
                throw new InvalidDataException("A log record ends inside a field.");
            }

            var span = _data.Slice(_offset, count);
            _offset += count;
            return span;
        }
    }
}

/// <summary>
/// A log record: the payloads of the appends one group commit carries, framed as
/// [marker:int32][count:int32] then count x ([length:int32][payload]). Records are written with
/// <see cref="LogRecordCodec.Marker"/> and <see cref="LogRecordCodec"/> payloads. Earlier releases wrote the same encoding
/// without order parts (marker -3), Orleans-serialized <c>ProfileBatch[]</c> payloads (marker -2) and, before keys travelled with the events, a positive count of
/// <c>EventBatch[]</c> payloads without a marker; both are still read, so a log written by any release replays.
/// </summary>
public static class LogRecords
{
    /// <summary>Marker of records whose payloads are Orleans-serialized <c>ProfileBatch[]</c> (written until 2026-12).</summary>
    public const int OrleansProfileBatchesMarker = -2;

    /// <summary>One record holding the payloads in order; each append's bytes are encoded once, when it arrives.</summary>
    public static byte[] Frame(IReadOnlyList<byte[]> payloads)
    {
        var length = 8;
        foreach (var payload in payloads)
        {
            length += 4 + payload.Length;
        }

        var record = GC.AllocateUninitializedArray<byte>(length);
        BinaryPrimitives.WriteInt32LittleEndian(record, LogRecordCodec.Marker);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(4), payloads.Count);
        var offset = 8;
        foreach (var payload in payloads)
        {
            BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(offset), payload.Length);
            payload.CopyTo(record, offset + 4);
            offset += 4 + payload.Length;
        }

        return record;
    }

    /// <summary>
    /// <see cref="Frame"/> into a buffer of the shared pool (records are large-object sized); give it back with
    /// <see cref="Return"/> once the log has taken the record.
    /// </summary>
    public static ArraySegment<byte> FrameRented(IReadOnlyList<ArraySegment<byte>> payloads)
    {
        var length = 8;
        foreach (var payload in payloads)
        {
            length += 4 + payload.Count;
        }

        var record = ArrayPool<byte>.Shared.Rent(length);
        BinaryPrimitives.WriteInt32LittleEndian(record, LogRecordCodec.Marker);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(4), payloads.Count);
        var offset = 8;
        foreach (var payload in payloads)
        {
            BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(offset), payload.Count);
            payload.AsSpan().CopyTo(record.AsSpan(offset + 4));
            offset += 4 + payload.Count;
        }

        return new ArraySegment<byte>(record, 0, length);
    }

    /// <summary>Gives a buffer of <see cref="LogRecordCodec.EncodeRented"/> or <see cref="FrameRented"/> back to the pool.</summary>
    public static void Return(ArraySegment<byte> rented)
    {
        if (rented.Array is { Length: > 0 } array)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    /// <summary>The batches of a record written by this or any earlier release, in the order they were appended.</summary>
    public static List<ProfileBatch> Read(byte[] record, Orleans.Serialization.Serializer serializer)
    {
        var marker = BinaryPrimitives.ReadInt32LittleEndian(record);
        var orderParts = marker == LogRecordCodec.Marker;
        var (encoded, keyed) = (orderParts || marker == LogRecordCodec.MarkerWithoutOrderParts, marker == OrleansProfileBatchesMarker);
        if (marker < 0 && !encoded && !keyed)
        {
            throw new InvalidDataException($"A log record starts with marker {marker}, which this release does not know (written by a newer one?).");
        }

        var offset = encoded || keyed ? 4 : 0;
        var count = BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(offset));
        offset += 4;
        var batches = new List<ProfileBatch>();
        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(offset));
            var payload = record.AsSpan(offset + 4, length);
            if (encoded)
            {
                batches.AddRange(LogRecordCodec.Decode(payload, orderParts));
            }
            else if (keyed)
            {
                batches.AddRange(serializer.Deserialize<ProfileBatch[]>(payload) ?? []);
            }
            else
            {
                // A record from before keys travelled with the events: the key is the events' own.
                batches.AddRange((serializer.Deserialize<EventBatch[]>(payload) ?? [])
                    .Select(b => new ProfileBatch(new ProfileKey(b.Events[0].Tenant, b.Events[0].UserId).ToString(), b)));
            }

            offset += 4 + length;
        }

        return batches;
    }
}
