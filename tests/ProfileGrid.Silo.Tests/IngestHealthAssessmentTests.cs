using Microsoft.Extensions.Diagnostics.HealthChecks;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Silo.Hosting.Operations;

namespace ProfileGrid.Silo.Tests;

/// <summary>What /healthz says of the log partitions' statuses (the ingest check's verdict on what GET /v1/admin/ingest shows).</summary>
public class IngestHealthAssessmentTests
{
    private static readonly HealthSettings Health = new();

    private static LogPartitionStatus Partition(int number, int replaysWithoutProgress = 0, long? stalledFrom = null) =>
        new(number, Checkpoint: 100, NextPosition: 100, ProfilesWithUnwrittenState: 0, RecordsAwaitingDispatch: 0, Replaying: false,
            ReplaysWithoutProgress: replaysWithoutProgress, StalledReplayFrom: stalledFrom);

    [Fact]
    public void A_partition_replaying_the_same_records_without_progress_makes_ingest_degraded_and_is_named()
    {
        var result = IngestBacklogHealthCheck.Assess([Partition(0), Partition(5, replaysWithoutProgress: 12, stalledFrom: 4096), Partition(7)], Health);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.Contains("partition 5 from position 4096 (12 times)", result.Description);
        Assert.Equal(1, result.Data["partitionsReplayingWithoutProgress"]);
    }

    [Fact]
    public void A_few_replays_without_progress_are_not_yet_a_problem_and_an_idle_grid_is_healthy()
    {
        // A merge reading a long history refuses the merged profile's records for a while: a few replays, not a fault.
        Assert.Equal(HealthStatus.Healthy, IngestBacklogHealthCheck.Assess([Partition(0, replaysWithoutProgress: 11, stalledFrom: 10), Partition(1)], Health).Status);
        Assert.Equal(HealthStatus.Healthy, IngestBacklogHealthCheck.Assess([Partition(0), Partition(1)], Health).Status);
    }

    [Fact]
    public void A_backlog_above_its_limit_is_degraded_as_before()
    {
        var busy = Partition(0) with { ProfilesWithUnwrittenState = Health.MaxUnwrittenProfiles + 1 };

        var result = IngestBacklogHealthCheck.Assess([busy], Health);

        Assert.Equal(HealthStatus.Degraded, result.Status);
        Assert.StartsWith("ingest backlog above its limit", result.Description);
    }
}
