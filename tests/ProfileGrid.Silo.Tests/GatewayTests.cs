using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>The gateway over real gRPC and REST on loopback: what a client sees, including for bad input.</summary>
[Collection(EphemeralSiloCollection.Name)]
public class GatewayTests(EphemeralSiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    private static string NewUser() => "u-" + Guid.NewGuid().ToString("N")[..12];

    private static string Recently(int minutesAgo = 10) => DateTimeOffset.UtcNow.AddMinutes(-minutesAgo).ToString("O");

    private static WireEvent PageView(string user, string id, string? occurredAt = null) => new()
    {
        EventId = id,
        Type = "page_view",
        UserId = user,
        OccurredAt = occurredAt ?? Recently(),
        Source = "web",
        Context = new Contracts.V1.EventContext { Device = "desktop", Country = "DE" },
        Page = new PageView { Url = "/" },
    };

    private async Task<Profile> WaitForProfileAsync(string user, Func<Profile, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                var profile = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = user });
                if (condition(profile))
                {
                    return profile;
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"The profile of {user} did not reach the expected state.");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task DeleteUser_over_grpc_erases_the_user_answers_a_receipt_and_leaves_the_neighbour()
    {
        var (user, neighbour) = (NewUser(), NewUser());
        await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { PageView(user, NewUser()), PageView(neighbour, NewUser()) } });
        await WaitForProfileAsync(user, p => p.EventsApplied == 1);
        await WaitForProfileAsync(neighbour, p => p.EventsApplied == 1);

        var receipt = await Silo.Client.DeleteUserAsync(new DeleteUserRequest { Tenant = "shop", UserId = user });
        Assert.Equal(user, receipt.UserId);
        Assert.Contains(user, receipt.ProfilesErased);
        Assert.Contains(receipt.Steps, s => s.Store == "profiles" && s.Removed.Values.Sum() > 0);
        Assert.True(DateTimeOffset.Parse(receipt.Cutoff, System.Globalization.CultureInfo.InvariantCulture) <= DateTimeOffset.UtcNow);

        var gone = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = user }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        Assert.Equal(1, (await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = neighbour })).EventsApplied);

        var bad = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.DeleteUserAsync(new DeleteUserRequest { Tenant = "shop", UserId = "" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.StartsWith("user_id", bad.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Erasing_a_user_the_grid_never_held_succeeds_and_says_nothing_was_held_in_grpc_rest_and_the_cli()
    {
        // Before, a never-ingested id came back in profiles_erased, as if someone had been erased.
        var ghost = NewUser();
        var receipt = await Silo.Client.DeleteUserAsync(new DeleteUserRequest { Tenant = "shop", UserId = ghost });
        Assert.True(receipt.NothingHeld);
        Assert.Empty(receipt.ProfilesErased);
        Assert.Equal(ghost, receipt.UserId);

        var restGhost = NewUser();
        using (var response = await Silo.Http.DeleteAsync($"/v1/tenants/shop/users/{restGhost}"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.True(body.RootElement.GetProperty("nothingHeld").GetBoolean());
            Assert.True(body.RootElement.GetProperty("complete").GetBoolean());
            Assert.Equal(0, body.RootElement.GetProperty("profilesErased").GetArrayLength());
        }

        var (exit, output) = RunCli("users", "delete", "--grid", $"http://127.0.0.1:{Silo.HttpPort}", "--tenant", "shop", "--user", NewUser(), "--key", "unused");
        Assert.True(exit == 0, output);
        Assert.Contains("Nothing held", output);
        Assert.DoesNotContain("Erased:", output);

        // A user with data is erased as before; erasing them again finds nothing.
        var user = NewUser();
        await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { PageView(user, NewUser()) } });
        await WaitForProfileAsync(user, p => p.EventsApplied == 1);
        var erased = await Silo.Client.DeleteUserAsync(new DeleteUserRequest { Tenant = "shop", UserId = user });
        Assert.False(erased.NothingHeld);
        Assert.Equal([user], erased.ProfilesErased);
        Assert.Equal(1, erased.Steps.Single(s => s.Store == "profiles").Removed["profiles"]);

        (exit, output) = RunCli("users", "delete", "--grid", $"http://127.0.0.1:{Silo.HttpPort}", "--tenant", "shop", "--user", user, "--key", "unused");
        Assert.True(exit == 0, output);
        Assert.Contains("Nothing held", output);
        var again = await Silo.Client.DeleteUserAsync(new DeleteUserRequest { Tenant = "shop", UserId = user });
        Assert.True(again.NothingHeld);
        Assert.Empty(again.ProfilesErased);
    }

    private static (int Exit, string Output) RunCli(params string[] args)
    {
        var console = new Spectre.Console.Testing.TestConsole { Profile = { Width = 250 } };
        using var output = new StringWriter();
        var exit = Cli.CliApp.Run(args, console, output, output);
        return (exit, console.Output + output);
    }

    [Fact]
    public async Task A_batch_with_bad_events_rejects_them_by_index_and_applies_the_rest()
    {
        var user = NewUser();
        var request = new IngestEventsRequest
        {
            Tenant = "shop",
            Events =
            {
                PageView(user, "ok-1"),
                PageView(user, "future", "2031-01-01T00:00:00Z"),
                PageView(user, "garbled", "last tuesday"),
                new WireEvent(PageView(user, "bad-type")) { Type = "teleport" },
                new WireEvent(PageView(user, "")) { EventId = "" },
                new WireEvent(PageView(user, "bad-device")) { Context = new Contracts.V1.EventContext { Device = "toaster" } },
                PageView(user, "ok-2"),
                PageView(user, "ok-1"),
            },
        };

        var response = await Silo.Client.IngestEventsAsync(request);

        Assert.Equal(2, response.Accepted);
        Assert.Equal(1, response.Duplicates);
        Assert.Equal(
            [(1, "events[1].occurred_at"), (2, "events[2].occurred_at"), (3, "events[3].type"), (4, "events[4].event_id"), (5, "events[5].context.device")],
            response.Rejected.Select(r => (r.Index, r.Field)).ToArray());
        Assert.Contains("in the future", response.Rejected[0].Reason);
        Assert.Contains("teleport", response.Rejected[2].Reason);

        var profile = await WaitForProfileAsync(user, p => p.EventsApplied == 2);
        Assert.Equal(2, profile.Behavior.EventCounts["page_view"]);
        Assert.Equal(2, profile.Behavior.RecentActions.Count);
    }

    [Fact]
    public async Task Two_users_events_with_the_same_id_are_both_applied_in_one_request_as_in_two()
    {
        // A client numbering events per user (a CRM's row numbers) sends the same id for two people: whether they share a
        // request or not, each is applied once; the same user's id twice is the replay that changes nothing.
        var (first, second, third, fourth) = (NewUser(), NewUser(), NewUser(), NewUser());
        var together = await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { PageView(first, "row-1"), PageView(second, "row-1"), PageView(first, "row-1") } });
        var apart = new[]
        {
            await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { PageView(third, "row-1") } }),
            await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { PageView(fourth, "row-1") } }),
            await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { PageView(third, "row-1") } }),
        };

        Assert.Equal((2, 1), (together.Accepted, together.Duplicates));
        Assert.Equal(3, apart.Sum(a => a.Accepted)); // the replay is acknowledged and then changes nothing
        foreach (var user in new[] { first, second, third, fourth })
        {
            var profile = await WaitForProfileAsync(user, p => p.EventsApplied >= 1);
            Assert.Equal(1, profile.Behavior.EventCounts["page_view"]);
        }
    }

    [Fact]
    public async Task An_oversized_batch_is_refused_whole_with_the_limit()
    {
        var user = NewUser();
        var request = new IngestEventsRequest { Tenant = "shop" };
        request.Events.AddRange(Enumerable.Range(0, 1001).Select(i => PageView(user, $"e{i}")));

        var error = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.IngestEventsAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("events: 1001 events exceed the limit of 1000", error.Status.Detail);
        var missing = await Silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = "shop", UserIds = { user } });
        Assert.Equal([user], missing.Missing);
    }

    [Fact]
    public async Task An_oversized_payload_is_refused()
    {
        var user = NewUser();
        var request = new IngestEventsRequest { Tenant = "shop", Events = { PageView(user, "big") } };
        request.Events[0].Page.Url = new string('x', 5 * 1024 * 1024);

        var error = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.IngestEventsAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Invalid_json_on_rest_gets_400_and_a_reason()
    {
        using var content = new StringContent("{\"tenant\": \"shop\", \"events\": [ {\"eventId\": ", Encoding.UTF8, "application/json");

        using var response = await Silo.Http.PostAsync("/v1/events:ingest", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.False(string.IsNullOrWhiteSpace(body));
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task Rest_ingest_and_read_round_trip()
    {
        var user = "rest/" + NewUser();
        var body = JsonSerializer.Serialize(new
        {
            tenant = "shop",
            events = new object[]
            {
                new
                {
                    eventId = "r1", type = "purchase", userId = user, occurredAt = Recently(), source = "app",
                    context = new { device = "mobile", country = "fr", locale = "fr-FR" },
                    purchase = new { orderId = "o1", currency = "EUR", lines = new[] { new { productId = "p1", category = "Books", quantity = 2, unitPrice = "12.50" } } },
                },
                new { eventId = "r2", type = "page_view", userId = user, occurredAt = "not a time" },
            },
        });
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await Silo.Http.PostAsync("/v1/events:ingest", content);
        response.EnsureSuccessStatusCode();
        using var result = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(1, result.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal("events[1].occurred_at", result.RootElement.GetProperty("rejected")[0].GetProperty("field").GetString());

        await WaitForProfileAsync(user, p => p.EventsApplied == 1);
        using var profileResponse = await Silo.Http.GetAsync($"/v1/tenants/shop/users/{Uri.EscapeDataString(user)}/profile");
        profileResponse.EnsureSuccessStatusCode();
        using var profile = JsonDocument.Parse(await profileResponse.Content.ReadAsStringAsync());
        var behavior = profile.RootElement.GetProperty("behavior");
        Assert.Equal("1", behavior.GetProperty("orders").GetRawText().Trim('"'));
        Assert.Equal("25.00", behavior.GetProperty("monetaryByCurrency")[0].GetProperty("amount").GetString());
        Assert.Equal("FR", profile.RootElement.GetProperty("context").GetProperty("lastCountry").GetString());

        using var documentResponse = await Silo.Http.GetAsync($"/v1/tenants/shop/users/{Uri.EscapeDataString(user)}/document");
        documentResponse.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await documentResponse.Content.ReadAsStringAsync());
        Assert.Equal(user, document.RootElement.GetProperty("userId").GetString());
        Assert.Equal("mobile", document.RootElement.GetProperty("context").GetProperty("lastDevice").GetString());
        Assert.Contains("birth_year", document.RootElement.GetProperty("missingFields").EnumerateArray().Select(f => f.GetString()));
    }

    /// <summary>
    /// An invoice of 250 lines over REST: 200 lines as part 1 and 50 as part 2 of one order id (the gateway takes 200 a
    /// event), with part 2 sent again under another event id, and a part past the most allowed and a part 0 that are refused
    /// naming the field (probe54: a client numbering parts from 0 lost every part after the first, all accepted).
    /// </summary>
    [Fact]
    public async Task An_order_sent_in_parts_over_rest_counts_as_one_order_with_every_parts_amount()
    {
        var user = NewUser();
        object Part(string eventId, int part, int from, int count) => new
        {
            eventId, type = "purchase", userId = user, occurredAt = Recently(), source = "crm",
            purchase = new
            {
                orderId = "581483", currency = "GBP", part,
                lines = Enumerable.Range(from, count).Select(i => new { productId = $"SKU{i:000}", category = "home", quantity = 1, unitPrice = "2.00" }).ToArray(),
            },
        };
        var body = JsonSerializer.Serialize(new
        {
            tenant = "shop",
            events = new[] { Part("inv-581483-1", 1, 0, 200), Part("inv-581483-2", 2, 200, 50), Part("crm-581483-2", 2, 200, 50), Part("inv-581483-x", ProfileGrid.Silo.Gateway.EventValidator.MaxOrderParts + 1, 250, 1), Part("inv-581483-0", 0, 250, 1) },
        });
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Silo.Http.PostAsync("/v1/events:ingest", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        using var result = JsonDocument.Parse(text);
        Assert.Equal(3, result.RootElement.GetProperty("accepted").GetInt32());
        var rejected = result.RootElement.GetProperty("rejected").EnumerateArray().ToArray();
        Assert.Equal(["events[3].purchase.part", "events[4].purchase.part"], rejected.Select(r => r.GetProperty("field").GetString()));
        Assert.Contains("numbered from 1", rejected[1].GetProperty("reason").GetString(), StringComparison.Ordinal);

        var profile = await WaitForProfileAsync(user, p => p.EventsApplied == 2);
        Assert.Equal(1, profile.Behavior.Orders);
        Assert.Equal("500.00", Assert.Single(profile.Behavior.MonetaryByCurrency).Amount);
        Assert.Equal(profile.Behavior.Monetary, profile.Behavior.AverageOrderValue); // one order: its value is all the revenue
    }

    [Fact]
    public async Task A_consent_change_made_now_stands_over_an_event_from_a_clock_a_little_ahead()
    {
        // probe58: a preference_set dated 2 minutes ahead (accepted within the gateway's skew) outranked an opt-out PUT
        // made after it: the PUT answered 200 with the opt-in still there, and every later read too.
        var user = NewUser();
        var ahead = PageView(user, NewUser(), DateTimeOffset.UtcNow.AddMinutes(2).ToString("O"));
        (ahead.Type, ahead.Page, ahead.Preference) = ("preference_set", null, new PreferenceSet { EmailOptIn = true, Key = "newsletter", Value = "weekly" });
        await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { ahead } });
        await WaitForProfileAsync(user, p => p.EventsApplied == 1);

        var answer = await Silo.Client.SetPreferencesAsync(new SetPreferencesRequest
        {
            Tenant = "shop", UserId = user, Preference = new PreferenceSet { EmailOptIn = false, Key = "newsletter", Value = "monthly" },
        });

        Assert.Equal((false, "monthly"), (answer.Profile.Preferences.EmailOptIn, answer.Profile.Preferences.Values["newsletter"]));
        var read = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = user });
        Assert.Equal((false, "monthly"), (read.Preferences.EmailOptIn, read.Preferences.Values["newsletter"]));
    }

    [Fact]
    public async Task A_direct_write_made_right_after_an_acknowledgement_stands_over_that_events_fast_clock()
    {
        // probe60: an identify dated 4 minutes ahead, acknowledged, then at once a PUT of the same fields: when the PUT
        // reached the profile before the event was dispatched to it, the event applied after it and won (2 of 4 tries).
        // Arrival at the gateway decides now: the PUT waits for what was acknowledged before it.
        var users = Enumerable.Range(0, 40).Select(_ => NewUser()).ToArray();
        await Task.WhenAll(users.Select(async user =>
        {
            var ahead = PageView(user, NewUser(), DateTimeOffset.UtcNow.AddMinutes(4).ToString("O"));
            (ahead.Type, ahead.Page, ahead.Preference) = ("preference_set", null, new PreferenceSet { Key = "newsletter", Value = "weekly", EmailOptIn = true });
            await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { ahead } });
            await Silo.Client.SetPreferencesAsync(new SetPreferencesRequest
            {
                Tenant = "shop", UserId = user, Preference = new PreferenceSet { Key = "newsletter", Value = "monthly", EmailOptIn = false },
            });
        }));

        foreach (var user in users)
        {
            var profile = await WaitForProfileAsync(user, p => p.EventsApplied == 1);
            Assert.True(
                (profile.Preferences.EmailOptIn, profile.Preferences.Values["newsletter"]) == (false, "monthly"),
                $"{user}: {profile.Preferences.EmailOptIn}, {profile.Preferences.Values["newsletter"]}");
        }

        // An event acknowledged after the write and dated after the value it stood over is the later change, and wins.
        var later = PageView(users[0], NewUser(), DateTimeOffset.UtcNow.AddMinutes(4.5).ToString("O"));
        (later.Type, later.Page, later.Preference) = ("preference_set", null, new PreferenceSet { Key = "newsletter", Value = "daily" });
        await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { later } });
        Assert.Equal("daily", (await WaitForProfileAsync(users[0], p => p.EventsApplied == 2)).Preferences.Values["newsletter"]);
    }

    [Fact]
    public async Task A_write_past_the_profiles_bounds_is_refused_naming_the_limit_rather_than_answered_as_stored()
    {
        // probe58: the 51st trait and the 101st preference answered 200 and were left out.
        var user = NewUser();
        for (var batch = 0; batch < 5; batch++)
        {
            var traits = new UpsertAttributesRequest { Tenant = "shop", UserId = user };
            traits.Traits.Add(Enumerable.Range(batch * 10, 10).ToDictionary(i => $"t{i}", i => "v"));
            await Silo.Client.UpsertAttributesAsync(traits);
        }

        var overTraits = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.UpsertAttributesAsync(new UpsertAttributesRequest
        {
            Tenant = "shop", UserId = user, Traits = { ["one-more"] = "v", ["t1"] = "changed" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, overTraits.StatusCode);
        Assert.Contains("the limit is 50", overTraits.Status.Detail);

        // Changing one it has, or removing one and then adding, is fine.
        await Silo.Client.UpsertAttributesAsync(new UpsertAttributesRequest { Tenant = "shop", UserId = user, Traits = { ["t1"] = "changed", ["t2"] = "" } });
        var added = await Silo.Client.UpsertAttributesAsync(new UpsertAttributesRequest { Tenant = "shop", UserId = user, Traits = { ["one-more"] = "v" } });
        Assert.Equal((50, "changed", "v"), (added.Profile.Demographics.Traits.Count, added.Profile.Demographics.Traits["t1"], added.Profile.Demographics.Traits["one-more"]));

        for (var i = 0; i < 100; i++)
        {
            await Silo.Client.SetPreferencesAsync(new SetPreferencesRequest { Tenant = "shop", UserId = user, Preference = new PreferenceSet { Key = $"p{i}", Value = "v" } });
        }

        var overPreferences = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.SetPreferencesAsync(new SetPreferencesRequest
        {
            Tenant = "shop", UserId = user, Preference = new PreferenceSet { Key = "zzz-new", Value = "v" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, overPreferences.StatusCode);
        Assert.StartsWith("preference.key:", overPreferences.Status.Detail);
        var consent = await Silo.Client.SetPreferencesAsync(new SetPreferencesRequest { Tenant = "shop", UserId = user, Preference = new PreferenceSet { EmailOptIn = false } });
        Assert.False(consent.Profile.Preferences.EmailOptIn);
    }

    [Fact]
    public async Task Crm_attributes_and_preferences_are_validated_and_applied()
    {
        var user = NewUser();

        var bad = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.UpsertAttributesAsync(new UpsertAttributesRequest
        {
            Tenant = "shop", UserId = user, Demographics = new Demographics { Country = "Atlantis" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
        Assert.StartsWith("demographics.country:", bad.Status.Detail);

        var upserted = await Silo.Client.UpsertAttributesAsync(new UpsertAttributesRequest
        {
            Tenant = "shop", UserId = user, Demographics = new Demographics { BirthYear = 1985, Gender = "female", Country = "se", Language = "sv" },
            Traits = { ["loyalty_tier"] = "gold" },
        });
        Assert.Equal("35_44", upserted.Profile.Demographics.AgeBand);
        Assert.Equal("SE", upserted.Profile.Demographics.Country);
        Assert.Equal("gold", upserted.Profile.Demographics.Traits["loyalty_tier"]);

        var preferences = await Silo.Client.SetPreferencesAsync(new SetPreferencesRequest
        {
            Tenant = "shop", UserId = user, Preference = new PreferenceSet { Key = "newsletter", Value = "weekly", EmailOptIn = true },
        });
        Assert.Equal("weekly", preferences.Profile.Preferences.Values["newsletter"]);
        Assert.True(preferences.Profile.Preferences.EmailOptIn);
        Assert.True(preferences.Profile.Completeness > 0);
    }

    [Fact]
    public async Task An_unknown_user_is_not_found_and_a_missing_tenant_is_invalid()
    {
        var notFound = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = NewUser() }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);

        var invalid = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.GetProfileAsync(new GetProfileRequest { UserId = "x" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.StartsWith("tenant:", invalid.Status.Detail);
    }

    [Fact]
    public async Task A_batch_read_names_the_bad_id()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.GetProfilesAsync(
            new GetProfilesRequest { Tenant = "shop", UserIds = { NewUser(), "", NewUser() } }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("user_ids[1]: is required", error.Status.Detail);
    }

    private async Task AssertStillServingAsync()
    {
        Assert.False(Silo.HasExited);
        using var health = await Silo.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var user = NewUser();
        await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { PageView(user, "alive") } });
        await WaitForProfileAsync(user, p => p.EventsApplied == 1);
    }
}
