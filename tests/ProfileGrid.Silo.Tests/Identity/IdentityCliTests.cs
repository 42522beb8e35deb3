using ProfileGrid.Cli;
using Spectre.Console.Testing;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary><c>profilegrid identity show|unmerge</c> against a real silo.</summary>
[Collection(IdentitySiloCollection.Name)]
public class IdentityCliTests(IdentitySiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    [Fact]
    public async Task Show_lists_the_merge_and_unmerge_reverses_it()
    {
        var tenant = NewId("idl-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-10);
        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "product_view", null, anonymous, now), Event(NewId("e-"), "page_view", user, anonymous, now.AddMinutes(1))]);
        await WaitForAsync(Silo, tenant, user, 2);
        var mergeId = Merges(await MergedIdentityAsync(Silo, tenant, user)).Single().GetProperty("mergeId").GetString()!;

        var shown = Run("identity", "show", "--tenant", tenant, "--user", user);
        Assert.Contains(mergeId, shown);
        Assert.Contains("login", shown);
        Assert.Contains("anon:" + anonymous, shown);

        Assert.Contains("reversed", Run("identity", "unmerge", "--tenant", tenant, mergeId));
        Assert.Equal("anon:" + anonymous, (await WaitForAsync(Silo, tenant, "anon:" + anonymous, 1)).UserId);
        Assert.DoesNotContain("merged into", Run("identity", "show", "--tenant", tenant, "--user", "anon:" + anonymous));
        Assert.Contains("reversed", Run("identity", "show", "--tenant", tenant, "--user", user));
    }

    private string Run(params string[] args)
    {
        var console = new TestConsole();
        console.Profile.Width = 400;
        using var output = new StringWriter();
        var exit = CliApp.Run([.. args.Take(2), "--grid", $"http://127.0.0.1:{Silo.HttpPort}", .. args.Skip(2)], console, output, output);
        Assert.True(exit == 0, console.Output + output);
        return console.Output;
    }
}
