using System.Net;
using System.Text.Json;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>
/// An erasure that meets a login's merge (answered, carried out after its answer) erases the person the merge makes or
/// refuses the merge: the erased user never comes back, the visitor is never left pointing at them, and no log partition
/// is held back by a visitor forwarding to an erased person (docs/privacy.md, docs/identity.md).
/// </summary>
[Collection(IdentitySiloCollection.Name)]
public class ErasureDuringMergeTests(IdentitySiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    private async Task<HttpStatusCode> EraseAsync(string tenant, string user)
    {
        using var response = await Silo.Http.DeleteAsync($"/v1/tenants/{tenant}/users/{user}");
        return response.StatusCode;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_erasure_right_after_or_during_a_login_leaves_no_erased_user_and_no_stalled_partition(bool atTheSameMoment)
    {
        var tenant = NewId("ide-");
        var now = DateTimeOffset.UtcNow.AddMinutes(-30);
        var pairs = Enumerable.Range(0, 8).Select(i => (User: NewId($"u{i}-"), Device: NewId($"d{i}-"))).ToList();
        await IngestAsync(Silo, tenant, pairs.SelectMany(p => Enumerable.Range(0, 3).Select(j =>
            Event($"{p.Device}-v{j}", "product_view", null, p.Device, now.AddMinutes(j), session: "s-" + p.Device))));
        foreach (var (_, device) in pairs)
        {
            await WaitForAsync(Silo, tenant, "anon:" + device, 3);
        }

        // Each login answered, then its user erased at once (or both sent together).
        await Task.WhenAll(pairs.Select(async p =>
        {
            var login = IngestAsync(Silo, tenant, [Event($"{p.Device}-login", "identify", p.User, p.Device, now.AddMinutes(5))]);
            if (!atTheSameMoment)
            {
                await login;
            }

            var erased = await EraseAsync(tenant, p.User);
            await login;
            Assert.Equal(HttpStatusCode.OK, erased);
        }));

        // The devices go on after the erasure: a fresh visitor each, nothing of the erased users.
        await IngestAsync(Silo, tenant, pairs.Select(p => Event($"{p.Device}-late", "product_view", null, p.Device, DateTimeOffset.UtcNow)), perRequest: 8);
        await SegmentScenario.PollAsync(
            () => Silo.Http.GetStringAsync("/v1/admin/ingest"),
            status => JsonDocument.Parse(status).RootElement.GetProperty("allWritten").GetBoolean(),
            "every log partition written after the erasures (none held back)",
            TimeSpan.FromSeconds(60));

        foreach (var (user, device) in pairs)
        {
            var erased = await TryGetAsync(Silo, tenant, user);
            // Sent at the same moment, the login's own record may be in the middle of its dispatch when the erasure reaches
            // the profile, and applied after it: the user is back with that one event (docs/privacy.md, known limits). The
            // device's history never goes with it.
            Assert.True(erased is null || (atTheSameMoment && erased.EventsApplied == 1), $"{user} after the erasure: {erased}");
            var visitor = await TryGetAsync(Silo, tenant, "anon:" + device);
            Assert.NotNull(visitor);
            Assert.Equal("anon:" + device, visitor!.UserId);
            // Erased with the person (the merge was under way) the visitor starts again from the late event; refused, it
            // kept its own three.
            Assert.Contains(visitor.EventsApplied, new long[] { 1, 4 });
            using var identity = await Silo.Http.GetAsync($"/v1/tenants/{tenant}/identity/anon:{device}");
            var text = await identity.Content.ReadAsStringAsync();
            Assert.True(identity.StatusCode is HttpStatusCode.OK or HttpStatusCode.NotFound, text);
            Assert.DoesNotContain(user, text, StringComparison.Ordinal);
        }
    }
}
