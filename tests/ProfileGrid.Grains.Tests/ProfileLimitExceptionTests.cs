using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace ProfileGrid.Grains.Tests;

/// <summary>A write refused for the profile's bounds crosses silos as itself, so the gateway answers FailedPrecondition.</summary>
public class ProfileLimitExceptionTests
{
    [Fact]
    public void The_refusal_keeps_its_type_and_message_through_the_serializer()
    {
        using var services = new ServiceCollection().AddSerializer(builder => builder.AddAssembly(typeof(ProfileLimitException).Assembly)).BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer<Exception>>();

        var read = serializer.Deserialize(serializer.SerializeToArray(new ProfileLimitException("traits: the limit is 50")));

        var refusal = Assert.IsType<ProfileLimitException>(read);
        Assert.Equal("traits: the limit is 50", refusal.Message);
    }
}
