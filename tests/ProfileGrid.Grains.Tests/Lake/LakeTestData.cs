using DuckDB.NET.Data;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Tests.Lake;

/// <summary>Messy histories for the lake tests, and DuckDB over a lake folder with the queries docs/lake.md documents.</summary>
public static class LakeTestData
{
    public static Serializer Serializer { get; } = new ServiceCollection()
        .AddSerializer(builder => builder.AddAssembly(typeof(UserEvent).Assembly))
        .BuildServiceProvider().GetRequiredService<Serializer>();

    /// <summary>The documented view of the events a profile applied: one row per (tenant, user, event id), then one purchase per order id.</summary>
    public const string AppliedEventsView = """
        CREATE OR REPLACE VIEW lake_rows AS
          SELECT * FROM read_parquet('{0}/events/**/*.parquet', hive_partitioning = false, union_by_name = true);
        CREATE OR REPLACE VIEW events AS
          SELECT * FROM lake_rows
          QUALIFY row_number() OVER (PARTITION BY tenant, user_id, event_id ORDER BY log_partition, log_position, event_index) = 1;
        CREATE OR REPLACE VIEW applied_events AS
          SELECT * FROM events
          QUALIFY type NOT IN ('purchase', 'refund')
             OR (row_number() OVER (PARTITION BY tenant, user_id, type, CASE type WHEN 'refund' THEN refund_id ELSE order_id END,
                                                 CASE type WHEN 'purchase' THEN coalesce(order_part, 0) END
                                    ORDER BY log_partition, log_position, event_index) = 1
                 -- an order counts in the form it came in first: whole, or in parts
                 AND (type = 'refund' OR (order_part IS NULL) = first_value(order_part IS NULL) OVER (
                   PARTITION BY tenant, user_id, type, order_id ORDER BY log_partition, log_position, event_index)));
        """;

    public static DuckDBConnection Open(string lakeFolder)
    {
        var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        Execute(connection, string.Format(System.Globalization.CultureInfo.InvariantCulture, AppliedEventsView, lakeFolder.Replace("'", "''")));
        return connection;
    }

    public static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static List<object?[]> Query(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    public static long Scalar(DuckDBConnection connection, string sql) => Convert.ToInt64(Query(connection, sql)[0][0]);

    /// <summary>
    /// A history as real imports look: tenants with odd characters, non-Latin and long ids, anonymous visitors, events
    /// from 1970 and 1998 beside today's, purchases of several lines, the same event sent twice, and one order reported
    /// twice under two event ids (web and CRM). Grouped per profile, in order.
    /// </summary>
    public static List<ProfileBatch> MessyHistory(string tenant, int users, int seed)
    {
        var random = new Random(seed);
        var batches = new List<ProfileBatch>();
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        for (var u = 0; u < users; u++)
        {
            var user = (u % 5) switch
            {
                0 => $"Jürgen-{u}-{seed}",
                1 => $"ユーザー{u}-{seed}",
                2 => $"anon:{Guid.NewGuid():N}",
                3 => new string('x', 200) + $"/{u}-{seed}",
                _ => $"u{u}-{seed}@example.com",
            };
            var events = new List<UserEvent>();
            var dates = new[]
            {
                new DateTimeOffset(1970, 1, 1, 0, 0, 1, TimeSpan.Zero),
                new DateTimeOffset(1998, 7, 12, 21, 30, 0, TimeSpan.Zero),
                now.AddDays(-400 - random.Next(300)),
                now.AddDays(-random.Next(30)).AddHours(-random.Next(20)),
                now.AddMinutes(-random.Next(60)),
            };
            for (var i = 0; i < 6 + random.Next(8); i++)
            {
                var at = dates[random.Next(dates.Length)].AddSeconds(i);
                var id = $"e-{u}-{i}";
                events.Add((i % 6) switch
                {
                    0 => new UserEvent
                    {
                        EventId = id, Kind = EventKind.Purchase, Tenant = tenant, UserId = user, OccurredAt = at, Source = Channel.Web,
                        Context = new EventContext { Device = DeviceType.Mobile, Country = "DE" },
                        Purchase = new PurchaseInfo
                        {
                            OrderId = $"o-{u}-{i}", Currency = i % 8 == 0 ? "EUR" : "USD",
                            Lines = [new PurchaseLine { ProductId = "p-1", Category = "shoes", Quantity = 2, UnitPrice = 19.99m },
                                     new PurchaseLine { ProductId = "p-ü", Category = null, Quantity = 1, UnitPrice = 5.05m }],
                        },
                    },
                    1 => new UserEvent
                    {
                        EventId = id, Kind = EventKind.ProductView, Tenant = tenant, UserId = user, OccurredAt = at, Source = Channel.App,
                        Product = new ProductInfo { ProductId = $"p-{random.Next(9)}", Category = "bags", UnitPrice = new Money(42.5m, "EUR") },
                    },
                    2 => new UserEvent
                    {
                        EventId = id, Kind = EventKind.Search, Tenant = tenant, UserId = user, OccurredAt = at,
                        Search = new SearchInfo { Query = "靴 rouge", ResultCount = 3 },
                    },
                    4 => new UserEvent
                    {
                        // Only some consent flags set: the others stay unchanged in the profile.
                        EventId = id, Kind = EventKind.PreferenceSet, Tenant = tenant, UserId = user, OccurredAt = at, Source = Channel.Web,
                        Preference = new PreferenceUpdate { Key = "newsletter", Value = "weekly", SmsOptIn = false },
                    },
                    5 => new UserEvent
                    {
                        EventId = id, Kind = EventKind.Custom, Tenant = tenant, UserId = user, OccurredAt = at,
                        Custom = new CustomInfo { Name = "wishlist_add", Properties = new Dictionary<string, string> { ["list"] = "été" } },
                    },
                    _ => new UserEvent
                    {
                        EventId = id, Kind = EventKind.Identify, Tenant = tenant, UserId = user, OccurredAt = at, Source = Channel.Crm,
                        Identify = new DemographicsUpdate { BirthYear = 1980 + u % 20, Country = "FR", Traits = new Dictionary<string, string> { ["tier"] = "gold" } },
                    },
                });
            }

            if (u % 3 == 0)
            {
                // The first order sent in two parts (as import-events sends one over 200 lines), the second part twice; for
                // every other such user the second part in another currency (an invoice in two, as import-events sends it):
                // one order, revenue in both currencies.
                var order = events[0].Purchase!;
                events[0] = events[0] with { Purchase = order with { Part = 1 } };
                var second = events[0] with
                {
                    EventId = $"e-{u}-part-2",
                    Purchase = order with
                    {
                        Part = 2, Currency = u % 6 == 0 ? "CHF" : order.Currency,
                        Lines = [new PurchaseLine { ProductId = "p-9", Category = "socks", Quantity = 3, UnitPrice = 2.55m }],
                    },
                };
                events.Add(second);
                events.Add(second with { EventId = $"crm-{u}-part-2", Source = Channel.Crm });
            }
            else if (u % 3 == 1)
            {
                // The first order whole, then a part of it from a sender that splits: a duplicate, not more revenue.
                var order = events[0].Purchase!;
                events.Add(events[0] with { EventId = $"e-{u}-late-part", Purchase = order with { Part = 2, Lines = [order.Lines[0]] } });
            }

            // The first event again (a client retry), and the first order again under a CRM event id.
            events.Add(events[0]);
            events.Add(events[0] with { EventId = $"crm-{u}", Source = Channel.Crm });
            var key = new ProfileKey(tenant, user).ToString();
            foreach (var chunk in events.Chunk(4))
            {
                batches.Add(new ProfileBatch(key, new EventBatch([.. chunk])));
            }
        }

        return batches;
    }

    /// <summary>Appends the batches to the log, a few per record, each in its profile's partition, in order.</summary>
    public static async Task AppendAsync(IEventLog log, IEnumerable<ProfileBatch> batches, int partitions)
    {
        foreach (var group in batches.GroupBy(b => ProfileBuckets.LogPartition(b.ProfileKey, partitions)))
        {
            foreach (var record in group.Chunk(3))
            {
                var end = await log.GetEndAsync(group.Key);
                var payload = LogRecordCodec.Encode(record);
                await log.AppendAsync(group.Key, end, LogRecords.Frame([payload]));
            }
        }
    }

    public static string TempFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "pg-lake-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(folder);
        return folder;
    }
}
