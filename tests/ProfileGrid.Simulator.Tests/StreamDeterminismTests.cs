using System.Security.Cryptography;
using Google.Protobuf;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator.Tests;

public class StreamDeterminismTests
{
    [Fact]
    public void Same_options_produce_a_byte_identical_stream()
    {
        var first = Fingerprint(IngestBatcher.Pack(SampleStream.Sessions, SampleStream.Options.Tenant));
        var second = Fingerprint(new SyntheticStream(SampleStream.Options).IngestRequests());

        Assert.Equal(first, second);
    }

    [Fact]
    public void Enumerating_a_stream_twice_produces_the_same_events()
    {
        var stream = new SyntheticStream(SampleStream.Options with { Users = 100 });

        Assert.Equal(Fingerprint(stream.IngestRequests()), Fingerprint(stream.IngestRequests()));
    }

    [Fact]
    public void A_different_seed_produces_a_different_stream()
    {
        var seeded7 = new SyntheticStream(SampleStream.Options with { Users = 100 });
        var seeded8 = new SyntheticStream(SampleStream.Options with { Users = 100, Seed = 8 });

        Assert.NotEqual(Fingerprint(seeded7.IngestRequests()), Fingerprint(seeded8.IngestRequests()));
        Assert.NotEqual(
            seeded7.Users.Select(user => (user.Type, user.Country, user.City)),
            seeded8.Users.Select(user => (user.Type, user.Country, user.City)));
    }

    [Fact]
    public void One_users_history_alone_is_that_users_part_of_the_whole_stream()
    {
        foreach (var index in new[] { 0, 7, 499 })
        {
            var userId = SampleStream.Stream.Users[index].UserId;
            var alone = SyntheticStream.SessionsOfUser(SampleStream.Options, SampleStream.Stream.Catalog, index).SelectMany(session => session.Events);

            Assert.Equal(
                SampleStream.Sessions.Where(session => session.UserId == userId).SelectMany(session => session.Events).Select(e => e.ToByteString()),
                alone.Select(e => e.ToByteString()));
        }
    }

    [Fact]
    public void Adding_users_leaves_the_existing_users_events_unchanged()
    {
        var small = new SyntheticStream(SampleStream.Options with { Users = 120 });
        var smallEvents = small.Events().Select(@event => @event.ToByteString().ToBase64()).ToList();

        var largerEvents = SampleStream.Events
            .Where(@event => string.CompareOrdinal(@event.UserId, small.Users[^1].UserId) <= 0)
            .Select(@event => @event.ToByteString().ToBase64())
            .ToList();

        Assert.Equal(small.Users.Select(Describe), SampleStream.Stream.Users.Take(120).Select(Describe));
        Assert.Equal(smallEvents, largerEvents);
    }

    internal static string Fingerprint(IEnumerable<IngestEventsRequest> requests)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var request in requests)
        {
            hash.AppendData(request.ToByteArray());
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static string Describe(SimulatedUser user) => $"{user} [{string.Join(",", user.FavoriteCategories)}]";
}
