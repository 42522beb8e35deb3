using System.Text;
using Xunit.Abstractions;

namespace ProfileGrid.Domain.Tests;

public class BoundsTests(ITestOutputHelper output)
{
    private const int AzureTableRowLimit = 960 * 1024;

    [Fact]
    public void Every_collection_of_a_user_with_100k_events_stays_within_its_bound()
    {
        var (profile, _) = HeavyUser.Create();
        var options = HeavyUser.Options;
        var behavior = profile.Behavior;

        Assert.Equal(HeavyUser.EventCount, profile.EventsApplied);
        Assert.Equal(options.DedupeWindow, profile.RecentEventIds.Count);
        Assert.Equal(options.RecentActionsCapacity, behavior.RecentActions.Count);
        Assert.Equal(options.MaxAnonymousIds, profile.AnonymousIds.Count);
        Assert.Equal(options.MaxCategories, behavior.CategoryScores.Count);
        Assert.Equal(options.SessionHistoryCapacity, behavior.RecentSessions.Count);
        Assert.InRange(behavior.DailyBuckets.Count, 1, options.LongestWindowDays());
        Assert.Equal(options.MaxTraits, profile.Demographics.Traits.Count);
        Assert.InRange(profile.Demographics.FieldUpdatedAt.Count, 1, options.MaxTraits + 5);
        Assert.Equal(options.MaxPreferences, profile.Preferences.Values.Count);
        Assert.InRange(profile.Preferences.FieldUpdatedAt.Count, 1, options.MaxPreferences + 3);
        Assert.All(behavior.RecentActions, a => Assert.InRange(a.Detail?.Length ?? 0, 0, ProfileUpdater.MaxDetailLength));
    }

    [Fact]
    public void The_stored_row_and_the_json_document_of_a_user_with_100k_events_stay_well_under_the_azure_table_row_limit()
    {
        var (profile, now) = HeavyUser.Create();

        var storedBytes = StoredState.Serialize(profile).Length;
        var documentBytes = ProfileJson.SerializeToUtf8Bytes(profile, HeavyUser.Options, now).Length;
        output.WriteLine($"stored state: {storedBytes / 1024} KiB, JSON document: {documentBytes / 1024} KiB");

        Assert.InRange(storedBytes, 1, AzureTableRowLimit / 2);
        Assert.InRange(documentBytes, 1, AzureTableRowLimit / 2);
    }
}
