using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Identity;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// A login whose merge could not be noted at the visitor's log partition (its silo died under the call) fails, and the
/// client's retry merges: the link the first attempt wrote is still there to finish.
/// </summary>
public sealed class MergeNotedLateTests : InterruptedLoginTestBase
{
    private const int Partitions = 16;

    protected override void ConfigureSilo(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<SiloConfigurator>();

    [Fact]
    public async Task A_login_retried_after_its_merge_could_not_be_noted_merges_the_visitor()
    {
        // probe64/probe66: the identifier noted the merge with a partition on the silo being killed; the call failed, the
        // request answered 503, and the retry was answered "already linked": the link had been taken off in memory before
        // the merge was written, so the person stayed split for good (and nothing counted it as pending).
        var (tenant, visitor, anonymous, user) = await VisitorAndUserAsync("ml-");

        var partition = Client.GetGrain<IEventLogPartitionGrain>(ProfileBuckets.LogPartition(new ProfileKey(tenant, anonymous).ToString(), Partitions));
        var identifier = Client.GetGrain<IIdentifierGrain>(new ProfileKey(tenant, IdentifierKinds.Name(IdentifierKinds.Anonymous, visitor)).ToString());
        var login = new IdentityClaim(tenant, IdentifierKinds.Anonymous, visitor, user, "login-1", "web", Start.AddMinutes(4));
        RefusingCheckpoints.Refused[partition.GetGrainId().ToString()] = true;
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => identifier.ClaimAsync(login));
        }
        finally
        {
            RefusingCheckpoints.Refused.TryRemove(partition.GetGrainId().ToString(), out _);
        }

        Assert.Equal(ClaimOutcome.Merged, await identifier.ClaimAsync(login));
        await WaitForAsync(tenant, user, v => v.EventsApplied == 3, "the visitor's history never joined the user");
    }

    [Fact]
    public async Task An_email_claim_retried_after_its_merge_could_not_be_noted_merges_the_visitor_who_gave_it_first()
    {
        // The same for an email a visitor gave before the user did: the new owner was set in memory before the merge was
        // written, and the retry found the user owning it already.
        var (tenant, visitor, anonymous, user) = await VisitorAndUserAsync("me-");
        var email = Client.GetGrain<IIdentifierGrain>(new ProfileKey(tenant, IdentifierKinds.Name(IdentifierKinds.Email, "hash-1")).ToString());
        Assert.Equal(ClaimOutcome.Recorded, await email.ClaimAsync(new IdentityClaim(tenant, IdentifierKinds.Email, "hash-1", anonymous, "newsletter", "web", Start.AddMinutes(2))));

        var partition = Client.GetGrain<IEventLogPartitionGrain>(ProfileBuckets.LogPartition(new ProfileKey(tenant, anonymous).ToString(), Partitions));
        var claim = new IdentityClaim(tenant, IdentifierKinds.Email, "hash-1", user, "signup", "crm", Start.AddMinutes(4));
        RefusingCheckpoints.Refused[partition.GetGrainId().ToString()] = true;
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => email.ClaimAsync(claim));
        }
        finally
        {
            RefusingCheckpoints.Refused.TryRemove(partition.GetGrainId().ToString(), out _);
        }

        Assert.Equal(ClaimOutcome.Merged, await email.ClaimAsync(claim));
        await WaitForAsync(tenant, user, v => v.EventsApplied == 3, "the visitor's history never joined the user");
    }

    [Fact]
    public async Task A_merge_counted_at_a_partition_that_no_identifier_holds_stops_being_counted()
    {
        // probe66: a partition counted a merge whose identifier never decided it (its claim failed after the count), and
        // allWritten stayed false for minutes, until the partition was activated again.
        var tenant = NewId("ms-");
        var partition = Client.GetGrain<IEventLogPartitionGrain>(ProfileBuckets.LogPartition(new ProfileKey(tenant, "anon:v").ToString(), Partitions));
        var identifier = new ProfileKey(tenant, IdentifierKinds.Name(IdentifierKinds.Anonymous, "v")).ToString();
        await partition.NoteMergeAsync("m-never-decided", identifier, pending: true);
        Assert.True((await partition.GetStatusAsync()).MergesPending >= 1);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await partition.GetStatusAsync()).MergesPending > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the merge nobody holds is still counted");
            await Task.Delay(200);
        }
    }

    /// <summary>Profile-store writes (the log partitions' checkpoints among them) refused for the grains listed.</summary>
    private sealed class RefusingCheckpoints(IGrainStorage inner) : IGrainStorage
    {
        public const string InnerName = "profiles-refusing-inner";

        public static ConcurrentDictionary<string, bool> Refused { get; } = new();

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
            Refused.ContainsKey(grainId.ToString())
                ? throw new IOException("The silo holding this grain died under the call (test storage).")
                : inner.WriteStateAsync(stateName, grainId, grainState);

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            InterruptedLoginTestBase.Configure(silo, TimeSpan.FromMinutes(1));
            silo.Services.Configure<ProfileGrid.Grains.Ingest.IngestOptions>(o => o.StuckAfter = TimeSpan.FromSeconds(3));
            silo.AddMemoryGrainStorage(RefusingCheckpoints.InnerName);
            silo.Services.AddKeyedSingleton<IGrainStorage>(
                ProfileStores.Profiles, (services, _) => new RefusingCheckpoints(services.GetRequiredKeyedService<IGrainStorage>(RefusingCheckpoints.InnerName)));
        }
    }
}
