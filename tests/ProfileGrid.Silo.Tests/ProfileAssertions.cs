using System.Globalization;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>Compares profiles read through the public API with totals counted independently from the sent events.</summary>
public static class ProfileAssertions
{
    public static Task<Dictionary<string, Profile>> GetAllAsync(ProfileGateway.ProfileGatewayClient client, string tenant, IEnumerable<string> userIds) =>
        ProfileReader.GetAllAsync(client, tenant, userIds);

    /// <summary>
    /// Polls until every user's counters equal <paramref name="expected"/> (exact) or reach at least it (not exact);
    /// fails at once if a counter ever exceeds <paramref name="upperBound"/>: that would be an event counted twice.
    /// </summary>
    public static async Task WaitUntilAsync(
        ProfileGateway.ProfileGatewayClient client, ExpectedTotals expected, string tenant, TimeSpan timeout, bool exact, ExpectedTotals? upperBound = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        string? lastProblem;
        do
        {
            var profiles = await GetAllAsync(client, tenant, expected.Users.Keys);
            if (upperBound is not null)
            {
                AssertAtMost(upperBound, profiles);
            }

            lastProblem = FirstMismatch(expected, profiles, exact);
            if (lastProblem is null)
            {
                return;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"Profiles did not reach the expected counters within {timeout}: {lastProblem}");
    }

    public static void AssertMatches(ExpectedTotals expected, IReadOnlyDictionary<string, Profile> profiles, bool exact)
    {
        var problem = FirstMismatch(expected, profiles, exact);
        Assert.True(problem is null, problem);
    }

    private static void AssertAtMost(ExpectedTotals upperBound, IReadOnlyDictionary<string, Profile> profiles)
    {
        foreach (var (userId, profile) in profiles)
        {
            var totals = upperBound.Users[userId];
            foreach (var (type, count) in profile.Behavior.EventCounts)
            {
                Assert.True(count <= totals.CountOf(type), $"{userId}: {count} {type} events applied, but only {totals.CountOf(type)} were ever sent");
            }
        }
    }

    private static string? FirstMismatch(ExpectedTotals expected, IReadOnlyDictionary<string, Profile> profiles, bool exact)
    {
        foreach (var (userId, totals) in expected.Users)
        {
            if (!profiles.TryGetValue(userId, out var profile))
            {
                return $"{userId} has no profile yet";
            }

            foreach (var (type, count) in totals.CountByType)
            {
                var applied = profile.Behavior.EventCounts.GetValueOrDefault(type);
                if (exact ? applied != count : applied < count)
                {
                    return $"{userId}: {applied} {type} events applied, expected {(exact ? string.Empty : "at least ")}{count}";
                }
            }

            if (exact)
            {
                if (profile.EventsApplied != totals.Events)
                {
                    return $"{userId}: {profile.EventsApplied} events applied, expected {totals.Events}";
                }

                foreach (var (currency, revenue) in totals.RevenueByCurrency)
                {
                    var paid = profile.Behavior.MonetaryByCurrency.FirstOrDefault(m => m.Currency == currency);
                    var amount = paid is null ? 0m : decimal.Parse(paid.Amount, CultureInfo.InvariantCulture);
                    if (amount != revenue)
                    {
                        return $"{userId}: revenue {amount} {currency}, expected {revenue}";
                    }
                }
            }
        }

        return null;
    }
}
