using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Domain;
using ProfileGrid.Grains;
using ProfileGrid.Silo.Hosting;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Profile state in transactions, on real Azurite: what one grain writes it reads back, concurrent writes share
/// transactions, a refused row fails only its own write, state too large for one property or one transaction still
/// lands, distinct ids never share a row, and rows Orleans' own table storage wrote are read and moved.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class BatchedTableGrainStorageTests(AzuriteFixture azurite)
{
    private static readonly IServiceProvider Services = new ServiceCollection()
        .AddSerializer(builder => builder.AddAssembly(typeof(UserProfileGrainState).Assembly).AddAssembly(typeof(UserProfile).Assembly))
        .BuildServiceProvider();

    private static readonly OrleansGrainStorageSerializer Serializer = new(Services.GetRequiredService<Serializer>());

    private readonly string _serviceId = "b" + Guid.NewGuid().ToString("N")[..10];

    private TableServiceClient Tables => new(azurite.ConnectionString);

    private BatchedTableGrainStorage NewStorage(IGrainStorage? legacy = null) =>
        new(Tables.GetTableClient(SiloProviders.ProfileStateTable), _serviceId, Serializer, legacy, NullLogger<BatchedTableGrainStorage>.Instance,
            () => SiloProviders.LegacyProfileRowsExistAsync(Tables, _serviceId));

    private static GrainId Profile(string key) => GrainId.Create("userprofile", key);

    private static UserProfileGrainState State(string user, long position, long events) => new()
    {
        Profile = new UserProfile { Tenant = "t", UserId = user, EventsApplied = events },
        LogPosition = position,
    };

    [Fact]
    public async Task A_state_written_is_read_back_by_another_silo_with_its_etag()
    {
        var written = new GrainState<UserProfileGrainState>(State("ann", 42, 7));
        await NewStorage().WriteStateAsync("profile", Profile("t/ann"), written);

        var read = new GrainState<UserProfileGrainState>();
        await NewStorage().ReadStateAsync("profile", Profile("t/ann"), read);

        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal(("ann", 42L, 7L), (read.State!.Profile.UserId, read.State!.LogPosition, read.State!.Profile.EventsApplied));

        var missing = new GrainState<UserProfileGrainState>();
        await NewStorage().ReadStateAsync("profile", Profile("t/nobody"), missing);
        Assert.False(missing.RecordExists);
        Assert.Null(missing.ETag);
    }

    [Fact]
    public async Task Concurrent_writes_of_many_grains_share_transactions_and_every_one_lands()
    {
        var storage = NewStorage();
        var states = Enumerable.Range(0, 600).Select(i => new GrainState<UserProfileGrainState>(State($"u{i}", i, i))).ToList();

        // Off xUnit's synchronization context, which would run the callers' continuations a few at a time.
        await Task.Run(() => Task.WhenAll(states.Select((s, i) => storage.WriteStateAsync("profile", Profile($"t/u{i}"), s))));

        Assert.Equal(600, storage.RowsWritten);
        Assert.True(storage.Transactions <= 150, $"{storage.Transactions} transactions for 600 rows");
        var reader = NewStorage();
        for (var i = 0; i < 600; i += 37)
        {
            var read = new GrainState<UserProfileGrainState>();
            await reader.ReadStateAsync("profile", Profile($"t/u{i}"), read);
            Assert.Equal(i, read.State!.LogPosition);
        }
    }

    [Fact]
    public async Task A_row_refused_on_its_etag_fails_only_its_own_write_and_the_rest_of_its_transaction_lands()
    {
        var storage = NewStorage();
        var stale = new GrainState<UserProfileGrainState>(State("ann", 1, 1));
        await storage.WriteStateAsync("profile", Profile("t/ann"), stale);
        var current = new GrainState<UserProfileGrainState>(State("ann", 2, 2)) { ETag = stale.ETag, RecordExists = true };
        await storage.WriteStateAsync("profile", Profile("t/ann"), current);

        // Many writes at once, so that the stale one shares a transaction with others (all 64 partitions get several).
        var others = Enumerable.Range(0, 400).Select(i => new GrainState<UserProfileGrainState>(State($"o{i}", i, i))).ToList();
        var staleWrite = storage.WriteStateAsync("profile", Profile("t/ann"), new GrainState<UserProfileGrainState>(State("ann", 3, 3)) { ETag = stale.ETag, RecordExists = true });
        var otherWrites = others.Select((s, i) => storage.WriteStateAsync("profile", Profile($"t/o{i}"), s)).ToList();

        await Assert.ThrowsAsync<InconsistentStateException>(() => staleWrite);
        await Task.WhenAll(otherWrites);
        var ann = new GrainState<UserProfileGrainState>();
        await storage.ReadStateAsync("profile", Profile("t/ann"), ann);
        Assert.Equal(2, ann.State!.LogPosition);
        Assert.Equal(current.ETag, ann.ETag);
        Assert.All(others, s => Assert.NotNull(s.ETag));
    }

    [Fact]
    public async Task An_insert_that_finds_the_row_there_is_a_conflict_not_an_overwrite()
    {
        // What a grain meets after its insert timed out at the client but landed: it reconciles (UserProfileGrain).
        await NewStorage().WriteStateAsync("profile", Profile("t/bob"), new GrainState<UserProfileGrainState>(State("bob", 5, 5)));

        var again = new GrainState<UserProfileGrainState>(State("bob", 4, 4));
        await Assert.ThrowsAsync<InconsistentStateException>(() => NewStorage().WriteStateAsync("profile", Profile("t/bob"), again));

        var read = new GrainState<UserProfileGrainState>();
        await NewStorage().ReadStateAsync("profile", Profile("t/bob"), read);
        Assert.Equal(5, read.State!.LogPosition);
    }

    [Fact]
    public async Task States_larger_than_a_property_and_together_larger_than_a_transaction_are_written_whole()
    {
        var storage = NewStorage();
        // Seven states of 700 KB (the profile's byte budget is 720 KiB) that compress to about 530 KB each: 3.7 MB, more
        // than one request may carry.
        var random = new Random(7);
        var big = Enumerable.Range(0, 7).Select(_ => new GrainState<string>(Convert.ToBase64String(RandomBytes(random, 525_000)))).ToList();
        var keys = Enumerable.Range(0, 7).Select(i => GrainId.Create("userprofile", $"big/{i}")).ToList();

        await Task.WhenAll(big.Select((s, i) => storage.WriteStateAsync("profile", keys[i], s)));

        for (var i = 0; i < big.Count; i++)
        {
            var read = new GrainState<string>();
            await NewStorage().ReadStateAsync("profile", keys[i], read);
            Assert.Equal(big[i].State, read.State);
        }
    }

    [Fact]
    public async Task A_profile_of_many_events_is_stored_compressed_and_read_back_whole_by_another_silo()
    {
        var state = new GrainState<UserProfileGrainState>(RatedProfile("movie-fan", ratings: 150));
        await NewStorage().WriteStateAsync("profile", Profile("t/movie-fan"), state);

        var row = await RowAsync("t/movie-fan");
        var serialized = Serializer.Serialize(state.State).ToArray();
        Assert.Null(row.GetBinary("D0"));
        Assert.Equal(serialized.Length, row.GetInt32("ZL"));
        var stored = Enumerable.Range(0, 16).Select(i => row.GetBinary("Z" + i)).TakeWhile(part => part is not null).Sum(part => part!.Length);
        Assert.InRange(stored, 1, serialized.Length / 2);

        var read = new GrainState<UserProfileGrainState>();
        await NewStorage().ReadStateAsync("profile", Profile("t/movie-fan"), read);
        Assert.Equal(state.ETag, read.ETag);
        Assert.Equal(serialized, Serializer.Serialize(read.State).ToArray());
        Assert.Equal(150, read.State!.Profile.EventsApplied);
    }

    [Fact]
    public async Task Rows_written_before_compression_and_states_that_do_not_shrink_are_read_as_they_are()
    {
        // A row as this storage wrote it before compression: the serialized state in D0, no ZL.
        var before = RatedProfile("old-fan", ratings: 40);
        var id = Profile("t/old-fan");
        var entity = new TableEntity(BatchedTableGrainStorage.PartitionKeyOf(_serviceId, id), BatchedTableGrainStorage.RowKeyOf("profile", id))
        {
            ["D0"] = Serializer.Serialize(before).ToArray(),
        };
        var table = Tables.GetTableClient(SiloProviders.ProfileStateTable);
        await table.CreateIfNotExistsAsync();
        await table.AddEntityAsync(entity);
        var read = new GrainState<UserProfileGrainState>();
        await NewStorage().ReadStateAsync("profile", id, read);
        Assert.Equal(Serializer.Serialize(before).ToArray(), Serializer.Serialize(read.State).ToArray());

        // Its next write replaces it compressed, and nothing of the old chunks is left.
        read.State!.LogPosition = 41;
        await NewStorage().WriteStateAsync("profile", id, read);
        var row = await RowAsync("t/old-fan");
        Assert.Null(row.GetBinary("D0"));
        Assert.NotNull(row.GetInt32("ZL"));

        // Random bytes do not shrink, and a small state is not worth a frame: both stay as they are.
        var random = new GrainState<byte[]>(RandomBytes(new Random(3), 40_000));
        await NewStorage().WriteStateAsync("archive", Profile("t/random"), random);
        var small = new GrainState<string>(new string('a', 200));
        await NewStorage().WriteStateAsync("profile", Profile("t/tiny"), small);
        foreach (var (name, key) in new[] { ("archive", "t/random"), ("profile", "t/tiny") })
        {
            var plain = (await Tables.GetTableClient(SiloProviders.ProfileStateTable).GetEntityAsync<TableEntity>(
                BatchedTableGrainStorage.PartitionKeyOf(_serviceId, Profile(key)), BatchedTableGrainStorage.RowKeyOf(name, Profile(key)))).Value;
            Assert.NotNull(plain.GetBinary("D0"));
            Assert.Null(plain.GetInt32("ZL"));
        }

        var randomRead = new GrainState<byte[]>();
        await NewStorage().ReadStateAsync("archive", Profile("t/random"), randomRead);
        Assert.Equal(random.State, randomRead.State);
        var smallRead = new GrainState<string>();
        await NewStorage().ReadStateAsync("profile", Profile("t/tiny"), smallRead);
        Assert.Equal(small.State, smallRead.State);
    }

    [Theory]
    [InlineData("a/b", "a%2Fb", "a_b")]
    [InlineData("a#b", "a?b", "a\\b")]
    public async Task Ids_that_differ_only_where_keys_are_escaped_get_rows_of_their_own(string first, string second, string third)
    {
        var storage = NewStorage();
        string[] keys = [first, second, third, new string('長', 300) + first, new string('長', 300) + second];
        for (var i = 0; i < keys.Length; i++)
        {
            await storage.WriteStateAsync("profile", GrainId.Create("userprofile", keys[i]), new GrainState<UserProfileGrainState>(State(keys[i], i, i)));
        }

        var rowKeys = keys.Select(k => BatchedTableGrainStorage.RowKeyOf("profile", GrainId.Create("userprofile", k))).ToList();
        Assert.Equal(keys.Length, rowKeys.Distinct().Count());
        Assert.All(rowKeys, k => Assert.InRange(k.Length, 1, BoundedKeyGrainStorage.TableKeyLimit));
        for (var i = 0; i < keys.Length; i++)
        {
            var read = new GrainState<UserProfileGrainState>();
            await NewStorage().ReadStateAsync("profile", GrainId.Create("userprofile", keys[i]), read);
            Assert.Equal(keys[i], read.State!.Profile.UserId);
        }
    }

    [Fact]
    public async Task A_row_Orleans_table_storage_wrote_is_read_and_moved_on_its_first_write()
    {
        var legacy = await StartLegacyStorageAsync();
        Assert.False(await SiloProviders.LegacyProfileRowsExistAsync(Tables, _serviceId));
        var id = Profile("t/old-timer");
        await legacy.WriteStateAsync("profile", id, new GrainState<UserProfileGrainState>(State("old-timer", 9, 9)));
        Assert.True(await SiloProviders.LegacyProfileRowsExistAsync(Tables, _serviceId));
        Assert.False(await SiloProviders.LegacyProfileRowsExistAsync(Tables, _serviceId + "x"));
        var storage = NewStorage(legacy);

        var read = new GrainState<UserProfileGrainState>();
        await storage.ReadStateAsync("profile", id, read);
        Assert.True(read.RecordExists);
        Assert.Equal(9, read.State!.LogPosition);

        read.State!.LogPosition = 10;
        await storage.WriteStateAsync("profile", id, read);

        var left = new GrainState<UserProfileGrainState>();
        await legacy.ReadStateAsync("profile", id, left);
        Assert.False(left.RecordExists);
        var moved = new GrainState<UserProfileGrainState>();
        await NewStorage().ReadStateAsync("profile", id, moved);
        Assert.Equal(10, moved.State!.LogPosition);
        Assert.Equal(read.ETag, moved.ETag);
    }

    [Fact]
    public async Task Clearing_removes_the_row()
    {
        var storage = NewStorage();
        var state = new GrainState<UserProfileGrainState>(State("gone", 1, 1));
        await storage.WriteStateAsync("profile", Profile("t/gone"), state);

        await storage.ClearStateAsync("profile", Profile("t/gone"), state);

        var read = new GrainState<UserProfileGrainState>();
        await NewStorage().ReadStateAsync("profile", Profile("t/gone"), read);
        Assert.False(read.RecordExists);
        Assert.False(state.RecordExists);
    }

    private async Task<TableEntity> RowAsync(string key) =>
        (await Tables.GetTableClient(SiloProviders.ProfileStateTable).GetEntityAsync<TableEntity>(
            BatchedTableGrainStorage.PartitionKeyOf(_serviceId, Profile(key)), BatchedTableGrainStorage.RowKeyOf("profile", Profile(key)))).Value;

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A profile with a MovieLens-like history: one rating of a film a day, each with its own event id.</summary>
    private static UserProfileGrainState RatedProfile(string user, int ratings)
    {
        var profile = new UserProfile { Tenant = "t", UserId = user };
        var start = new DateTimeOffset(1997, 9, 20, 0, 0, 0, TimeSpan.Zero);
        var events = Enumerable.Range(0, ratings).Select(i => new UserEvent
        {
            EventId = $"ml100k-{user}-{i * 37 % 1682}", Kind = EventKind.Rating, Tenant = "t", UserId = user, Source = Channel.Web,
            OccurredAt = start.AddDays(i).AddMinutes(i * 7 % 1440),
            Rating = i % 5 + 1,
            Product = new ProductInfo { ProductId = $"{i * 37 % 1682}", Category = (i % 4) switch { 0 => "Drama", 1 => "Comedy", 2 => "Action", _ => "Thriller" } },
        }).ToList();
        ProfileUpdater.Apply(profile, events, new ProfileOptions(), start.AddDays(ratings));
        return new UserProfileGrainState { Profile = profile, LogPosition = ratings };
    }

    /// <summary>Orleans' own Azure Table grain storage, as the host configured it before (through bounded keys).</summary>
    private async Task<IGrainStorage> StartLegacyStorageAsync()
    {
        var options = new AzureTableStorageOptions
        {
            TableServiceClient = Tables,
            TableName = SiloProviders.ProfilesTable,
            GrainStorageSerializer = Serializer,
        };
        var storage = new AzureTableGrainStorage(
            "profiles-unbounded", options, Options.Create(new ClusterOptions { ServiceId = _serviceId, ClusterId = "c" }),
            NullLogger<AzureTableGrainStorage>.Instance, Services.GetRequiredService<IActivatorProvider>());
        var lifecycle = new SiloLifecycleSubject(NullLogger<SiloLifecycleSubject>.Instance);
        storage.Participate(lifecycle);
        await lifecycle.OnStart();
        return BoundedKeyGrainStorage.ForTable(storage, _serviceId);
    }
}
