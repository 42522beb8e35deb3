using System.Buffers.Binary;
using System.Collections;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// The event log's record encoding: every field of an event survives it, and records written by earlier releases
/// (Orleans-serialized payloads) are still read, so a log that holds them replays after an upgrade.
/// </summary>
public sealed class LogRecordCodecTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection()
        .AddSerializer(builder => builder.AddAssembly(typeof(UserEvent).Assembly))
        .BuildServiceProvider();

    private Serializer Serializer => _services.GetRequiredService<Serializer>();

    public void Dispose() => _services.Dispose();

    /// <summary>An event with every field set to a value other than its default, in every nested part.</summary>
    private static UserEvent Full(string id = "e-ü-1") => new()
    {
        EventId = id,
        // A rating is the one kind whose value rides after the parts: with it every field is carried.
        Kind = EventKind.Rating,
        Tenant = "shop/eu",
        UserId = "anon:visitor 7",
        AnonymousId = "visitor 7",
        OccurredAt = new DateTimeOffset(2026, 11, 28, 9, 21, 13, TimeSpan.FromMinutes(90)).AddTicks(1234567),
        Source = Channel.Crm,
        Context = new EventContext
        {
            Device = DeviceType.Tablet,
            UserAgent = "Mozilla/5.0 (X11)",
            Country = "DE",
            Region = "BY",
            City = "München",
            Locale = "de-DE",
            SessionId = "s-42",
        },
        Page = new PageInfo { Url = "https://shop.example/p/17?q=1", Title = "Stiefel 日本", Referrer = "https://search.example/" },
        Product = new ProductInfo { ProductId = "p-17", Category = "shoes", Quantity = 3, UnitPrice = new Money(89.90m, "EUR") },
        Search = new SearchInfo { Query = "boots", ResultCount = 12 },
        Purchase = new PurchaseInfo
        {
            OrderId = "o-9",
            Currency = "EUR",
            Lines = [
                new PurchaseLine { ProductId = "p-17", Category = "shoes", Quantity = 2, UnitPrice = 89.90m },
                new PurchaseLine { ProductId = "p-18", Category = "socks", Quantity = 100_000, UnitPrice = 10_000_000.0001m },
            ],
            Part = 300,
        },
        Identify = new DemographicsUpdate
        {
            BirthYear = 1990,
            Gender = Gender.NonBinary,
            Country = "AT",
            Language = "de",
            City = "Wien",
            Traits = new Dictionary<string, string> { ["tier"] = "gold", ["crm id"] = "c-1" },
        },
        Preference = new PreferenceUpdate { Key = "newsletter", Value = "weekly", EmailOptIn = true, SmsOptIn = true, PersonalizationOptIn = true },
        Custom = new CustomInfo { Name = "quiz_done", Properties = new Dictionary<string, string> { ["score"] = "7" } },
        Rating = 4.5,
    };

    /// <summary>
    /// Impressions and clicks carry their feedback after the parts (and only they do): the full sample of those fields,
    /// every other part set as well.
    /// </summary>
    private static UserEvent FullFeedback(EventKind kind, string id = "e-f-1") => Full(id) with
    {
        Kind = kind,
        Rating = null,
        Feedback = new FeedbackInfo
        {
            RecommendationId = "rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f00",
            Slot = "home",
            ItemIds = ["p-17", "p-18", "日本-1"],
            ItemId = "p-18",
            Position = 2,
        },
    };

    /// <summary>Refunds carry their refund after the parts (and only they do): the full sample of those fields.</summary>
    private static UserEvent FullRefund(string id = "e-r-1") => Full(id) with
    {
        Kind = EventKind.Refund,
        Rating = null,
        Refund = new RefundInfo
        {
            RefundId = "C536379",
            OrderId = "536365",
            Currency = "GBP",
            Amount = 12.5m,
            Lines = [new PurchaseLine { ProductId = "85123A", Category = "décor", Quantity = 2, UnitPrice = 2.55m }],
        },
    };

    /// <summary>Events as validation builds them: most parts absent.</summary>
    private static IEnumerable<UserEvent> Sparse()
    {
        var bare = new UserEvent { EventId = "b", Kind = EventKind.SessionStart, Tenant = "t", UserId = "u", OccurredAt = DateTimeOffset.UnixEpoch };
        yield return bare;
        yield return bare with { Kind = EventKind.PageView, Page = new PageInfo(), Context = new EventContext() };
        yield return bare with { Kind = EventKind.ProductView, Product = new ProductInfo { ProductId = "p" } };
        yield return bare with { Kind = EventKind.Identify, Identify = new DemographicsUpdate { Gender = Gender.Unknown } };
        yield return bare with { Kind = EventKind.PreferenceSet, Preference = new PreferenceUpdate { SmsOptIn = false } };
        yield return bare with { Kind = EventKind.Custom, Custom = new CustomInfo { Name = "x", Properties = new Dictionary<string, string>() } };
        yield return bare with { Kind = EventKind.Purchase, Purchase = new PurchaseInfo { OrderId = "o", Currency = "USD", Lines = [] } };
        yield return bare with { Kind = EventKind.Rating, Product = new ProductInfo { ProductId = "p" }, Rating = 0 };
        yield return bare with { Kind = EventKind.Impression, Feedback = new FeedbackInfo { RecommendationId = "r", ItemIds = ["a"] } };
        yield return bare with { Kind = EventKind.Click, Feedback = new FeedbackInfo { RecommendationId = "r", ItemId = "a" } };
        yield return bare with { Kind = EventKind.Click };
        yield return bare with { Kind = EventKind.Refund, Refund = new RefundInfo { RefundId = "r", Currency = "EUR", Amount = 1m } };
        yield return bare with { Kind = EventKind.Refund };
        yield return bare with { EventId = "", Tenant = "", UserId = "", AnonymousId = "", OccurredAt = DateTimeOffset.MaxValue };
    }

    private static string Json(object value) => JsonSerializer.Serialize(value);

    [Fact]
    public void Every_field_of_an_event_survives_the_log_encoding()
    {
        var batches = new[] { new ProfileBatch("shop~2Feu/anon:visitor 7", new EventBatch([Full(), Full("e-2")])) };

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(batches));

        Assert.Equal(Json(batches), Json(decoded));
        Assert.Equal(Full().OccurredAt.Offset, decoded[0].Batch.Events[0].OccurredAt.Offset);
        Assert.Equal(Full().OccurredAt.UtcTicks, decoded[0].Batch.Events[0].OccurredAt.UtcTicks);
    }

    [Theory]
    [InlineData(EventKind.Impression)]
    [InlineData(EventKind.Click)]
    public void The_feedback_of_impressions_and_clicks_survives_the_log_encoding(EventKind kind)
    {
        var batches = new[] { new ProfileBatch("t/u", new EventBatch([FullFeedback(kind), Full("after")])) };

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(batches));

        Assert.Equal(Json(batches), Json(decoded));
        Assert.Equal(2, decoded[0].Batch.Events[0].Feedback!.Position);
    }

    [Fact]
    public void A_refund_survives_the_log_encoding()
    {
        var batches = new[] { new ProfileBatch("t/u", new EventBatch([FullRefund(), Full("after")])) };

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(batches));

        Assert.Equal(Json(batches), Json(decoded));
        Assert.Equal(12.5m, decoded[0].Batch.Events[0].Refund!.Total);
    }

    [Fact]
    public void Events_with_absent_parts_survive_the_log_encoding()
    {
        var batches = Sparse().Select((e, i) => new ProfileBatch($"t/u{i}", new EventBatch([e]))).ToArray();

        var decoded = LogRecordCodec.Decode(LogRecordCodec.Encode(batches));

        Assert.Equal(Json(batches), Json(decoded));
        Assert.Null(decoded[0].Batch.Events[0].AnonymousId);
        Assert.Equal(string.Empty, decoded[^1].Batch.Events[0].AnonymousId);
        Assert.Equal(Gender.Unknown, decoded[3].Batch.Events[0].Identify!.Gender);
        Assert.Null(decoded[3].Batch.Events[0].Identify!.BirthYear);
        Assert.False(decoded[4].Batch.Events[0].Preference!.SmsOptIn);
        Assert.Null(decoded[4].Batch.Events[0].Preference!.EmailOptIn);
    }

    /// <summary>
    /// Guards the codec against a field added to an event later: the full sample must set it (this test says which),
    /// and then the round trip above fails until the codec carries it (as a new record version).
    /// </summary>
    [Fact]
    public void The_full_sample_sets_every_field_an_event_can_carry()
    {
        var unset = new List<string>();
        Walk(Full(), typeof(UserEvent).Name, unset);
        var unsetInFeedbackSample = new List<string>();
        Walk(FullFeedback(EventKind.Click), typeof(UserEvent).Name, unsetInFeedbackSample);
        var unsetInRefundSample = new List<string>();
        Walk(FullRefund(), typeof(UserEvent).Name, unsetInRefundSample);
        Assert.Empty(unset.Intersect(unsetInFeedbackSample).Intersect(unsetInRefundSample));

        static void Walk(object value, string path, List<string> unset)
        {
            foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (!property.CanWrite || property.GetIndexParameters().Length > 0)
                {
                    continue; // computed (PurchaseInfo.Total) or the record's EqualityContract
                }

                if (value is UserEvent && property.Name == nameof(UserEvent.Identifiers))
                {
                    continue; // never recorded: the gateway takes an event's identifiers off before the log (docs/identity.md)
                }

                if (value is UserEvent && property.Name == nameof(UserEvent.DedupeId))
                {
                    continue; // never recorded: set only when a canonical profile applies a merged member's event
                }

                var field = property.GetValue(value);
                var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
                var isDefault = field is null || (type.IsValueType && field.Equals(Activator.CreateInstance(type)))
                    || (field is ICollection { Count: 0 });
                if (isDefault)
                {
                    unset.Add($"{path}.{property.Name}");
                }
                else if (field is IEnumerable items and not string)
                {
                    foreach (var item in items)
                    {
                        if (item.GetType().Namespace == typeof(UserEvent).Namespace)
                        {
                            Walk(item, $"{path}.{property.Name}[]", unset);
                        }
                    }
                }
                else if (type.Namespace == typeof(UserEvent).Namespace && !type.IsEnum)
                {
                    Walk(field!, $"{path}.{property.Name}", unset);
                }
            }
        }
    }

    [Fact]
    public void A_record_frames_several_appends_and_reads_back_their_batches_in_order()
    {
        var first = new[] { new ProfileBatch("t/a", new EventBatch([Full("1")])), new ProfileBatch("t/b", new EventBatch([Full("2")])) };
        var second = new[] { new ProfileBatch("t/a", new EventBatch([Full("3")])) };

        var record = LogRecords.Frame([LogRecordCodec.Encode(first), LogRecordCodec.Encode(second)]);

        Assert.Equal(LogRecordCodec.Marker, BinaryPrimitives.ReadInt32LittleEndian(record));
        Assert.Equal(Json(first.Concat(second)), Json(LogRecords.Read(record, Serializer)));
    }

    /// <summary>The partition's path: payloads and the record in pooled buffers (longer than their contents).</summary>
    [Fact]
    public void A_record_framed_from_pooled_payloads_reads_back_the_same()
    {
        var first = new[] { new ProfileBatch("t/a", new EventBatch([Full("1")])) };
        var second = Sparse().Select((e, i) => new ProfileBatch($"t/u{i}", new EventBatch([e]))).ToArray();
        var payloads = new[] { LogRecordCodec.EncodeRented(first), LogRecordCodec.EncodeRented(second) };

        var record = LogRecords.FrameRented(payloads);
        var bytes = record.AsSpan().ToArray();
        Array.ForEach(payloads, LogRecords.Return);
        LogRecords.Return(record);

        Assert.Equal(LogRecords.Frame([LogRecordCodec.Encode(first), LogRecordCodec.Encode(second)]), bytes);
        Assert.Equal(Json(first.Concat(second)), Json(LogRecords.Read(bytes, Serializer)));
    }

    /// <summary>What releases before the log encoding wrote (marker -2, Orleans-serialized ProfileBatch[]): still read.</summary>
    [Fact]
    public void A_record_written_by_the_previous_release_is_still_read()
    {
        var appends = new[]
        {
            new[] { new ProfileBatch("shop~2Feu/anon:visitor 7", new EventBatch([Full()])) },
            Sparse().Select((e, i) => new ProfileBatch($"t/u{i}", new EventBatch([e]))).ToArray(),
        };
        var record = Framed(LogRecords.OrleansProfileBatchesMarker, appends.Select(a => Serializer.SerializeToArray(a)).ToArray());

        Assert.Equal(Json(appends.SelectMany(a => a)), Json(LogRecords.Read(record, Serializer)));
    }

    /// <summary>Records from before keys travelled with the events (no marker, EventBatch[]): the key is the events' own.</summary>
    [Fact]
    public void A_record_written_before_keys_travelled_is_still_read()
    {
        var batch = new EventBatch([Full()]);
        var record = Framed(marker: null, [Serializer.SerializeToArray(new[] { batch })]);

        var read = Assert.Single(LogRecords.Read(record, Serializer));

        Assert.Equal(new ProfileKey("shop/eu", "anon:visitor 7").ToString(), read.ProfileKey);
        Assert.Equal(Json(batch), Json(read.Batch));
    }

    /// <summary>
    /// The bytes this release writes, pinned: records already in a log must stay readable by every later release, so a
    /// change of the layout needs a new marker, not an edit of this one.
    /// </summary>
    [Fact]
    public void The_encoding_of_this_release_is_pinned()
    {
        var batches = new[]
        {
            new ProfileBatch("t/u", new EventBatch([new UserEvent
            {
                EventId = "e1", Kind = EventKind.AddToCart, Tenant = "t", UserId = "u", OccurredAt = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero),
                Source = Channel.Web, Context = new EventContext { Device = DeviceType.Mobile, Country = "DE" },
                Product = new ProductInfo { ProductId = "p", Category = "c", Quantity = 2, UnitPrice = new Money(1.5m, "EUR") },
            }])),
        };

        var bytes = LogRecordCodec.Encode(batches);

        Assert.Equal(PinnedEncoding, Convert.ToHexString(bytes));
        Assert.Equal(Json(batches), Json(LogRecordCodec.Decode(Convert.FromHexString(PinnedEncoding))));
    }

    private const string PinnedEncoding =
        "0104742F75010365310402740275000080F00A3E4FDF08000001050200034445000000000270026302000000010F00000000000000000000000000010004455552";

    /// <summary>
    /// A record of the release before purchases carried their part (marker -3: the same layout without the part's varint,
    /// pinned here): its purchases read as whole orders.
    /// </summary>
    [Fact]
    public void A_record_written_before_order_parts_reads_its_purchases_as_whole_orders()
    {
        var purchase = new UserEvent
        {
            EventId = "e2", Kind = EventKind.Purchase, Tenant = "t", UserId = "u", OccurredAt = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero),
            Source = Channel.Crm,
            Purchase = new PurchaseInfo { OrderId = "536365", Currency = "GBP", Lines = [new PurchaseLine { ProductId = "85123A", Category = "home", Quantity = 6, UnitPrice = 2.55m }] },
        };
        var batches = new[] { new ProfileBatch("t/u", new EventBatch([purchase])) };
        var current = LogRecordCodec.Encode(batches);
        Assert.Equal(PinnedEncodingWithoutOrderParts + "00", Convert.ToHexString(current)); // part 0 as the last byte

        var record = Framed(LogRecordCodec.MarkerWithoutOrderParts, [Convert.FromHexString(PinnedEncodingWithoutOrderParts)]);
        var read = Assert.Single(LogRecords.Read(record, Serializer));

        Assert.Equal(Json(batches), Json(new[] { read }));
        Assert.Equal(0, read.Batch.Events[0].Purchase!.Part);
        Assert.Throws<InvalidDataException>(() => LogRecords.Read(Framed(LogRecordCodec.Marker, [Convert.FromHexString(PinnedEncodingWithoutOrderParts)]), Serializer));
    }

    private const string PinnedEncodingWithoutOrderParts =
        "0104742F75010365320602740275000080F00A3E4FDF08000003100735333633363504474250010738353132334105686F6D6506000000FF000000000000000000000000000200";

    [Fact]
    public void A_truncated_payload_is_refused_not_misread()
    {
        var bytes = LogRecordCodec.Encode([new ProfileBatch("t/u", new EventBatch([Full()]))]);

        for (var length = 0; length < bytes.Length; length += 7)
        {
            Assert.Throws<InvalidDataException>(() => LogRecordCodec.Decode(bytes.AsSpan(0, length)));
        }
    }

    [Fact]
    public void A_record_of_an_unknown_newer_kind_is_refused_not_misread()
    {
        var record = Framed(-5, [[1, 2, 3]]);

        Assert.Throws<InvalidDataException>(() => LogRecords.Read(record, Serializer));
    }

    private static byte[] Framed(int? marker, byte[][] payloads)
    {
        var stream = new MemoryStream();
        var writer = new BinaryWriter(stream);
        if (marker is { } m)
        {
            writer.Write(m);
        }

        writer.Write(payloads.Length);
        foreach (var payload in payloads)
        {
            writer.Write(payload.Length);
            writer.Write(payload);
        }

        return stream.ToArray();
    }
}
