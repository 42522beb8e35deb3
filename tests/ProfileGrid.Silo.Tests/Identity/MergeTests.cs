using System.Text.Json;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>
/// Logins merge a visitor's anonymous history into the known user exactly once, from the outside (a real silo over gRPC
/// and REST), checked against an oracle tenant that got every anonymous event as the known user's in the first place.
/// </summary>
[Collection(IdentitySiloCollection.Name)]
public class MergeTests(IdentitySiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    [Fact]
    public async Task A_login_merges_the_anonymous_history_and_the_profile_equals_one_that_was_known_all_along()
    {
        var (tenant, oracle) = (NewId("idm-"), NewId("ido-"));
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var events = VisitorLife(user, anonymous, seed: 11, out var login);
        var distinct = events.Select(e => e.EventId).Distinct().Count();

        // The oracle first (its anonymous events are the user's), then the real tenant in the same order.
        await IngestAsync(Silo, oracle, AsKnownUser(events, user));
        await IngestAsync(Silo, tenant, events);

        await WaitForAsync(Silo, oracle, user, distinct);
        await WaitForAsync(Silo, tenant, user, distinct);
        var asOf = At(DateTimeOffset.UtcNow);
        var expected = await TryGetAsync(Silo, oracle, user, asOf);
        var merged = await TryGetAsync(Silo, tenant, user, asOf);
        Assert.Equal(Comparable(expected!), Comparable(merged!));
        Assert.True(merged!.Behavior.Orders > 0 && merged.Behavior.Sessions > 1, "the history has orders and sessions");

        // The anonymous id now answers as the person it belongs to.
        var asAnonymous = await TryGetAsync(Silo, tenant, "anon:" + anonymous, asOf);
        Assert.Equal(user, asAnonymous!.UserId);
        Assert.Equal(Comparable(expected!), Comparable(asAnonymous));

        // One merge, with its provenance.
        var identity = await MergedIdentityAsync(Silo, tenant, user);
        var merge = Assert.Single(Merges(identity));
        Assert.Equal("anon:" + anonymous, merge.GetProperty("from").GetString());
        Assert.Equal(user, merge.GetProperty("into").GetString());
        Assert.Equal("login", merge.GetProperty("rule").GetString());
        // The first event that carried both ids (the login or a later event of the user's with the device id) made it.
        Assert.Equal(events.First(e => e.UserId != "" && e.AnonymousId != "").EventId, merge.GetProperty("eventId").GetString());
        Assert.Contains(events, e => e.EventId == login.EventId);
        Assert.Equal("merged", merge.GetProperty("status").GetString());
        Assert.Equal(["anon:" + anonymous], identity.GetProperty("members").EnumerateArray().Select(m => m.GetString()!).ToArray());
        var anonymousIdentity = await IdentityAsync(Silo, tenant, "anon:" + anonymous);
        Assert.Equal(user, anonymousIdentity.GetProperty("mergedInto").GetString());

        // The person counts once: in the tenant's profile list (segments, exports) and its stats.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string[] listed = [];
        long? counted = null;
        while (DateTime.UtcNow < deadline)
        {
            listed = [.. (await Silo.Client.ListProfilesAsync(new ListProfilesRequest { Tenant = tenant })).Profiles.Select(p => p.UserId)];
            using var answer = await Silo.Http.GetAsync($"/v1/tenants/{tenant}/stats"); // 404 until the tenant's first stats flush
            using var stats = answer.IsSuccessStatusCode ? JsonDocument.Parse(await answer.Content.ReadAsStringAsync()) : null;
            counted = stats is not null && stats.RootElement.TryGetProperty("profiles", out var profiles) && profiles.TryGetProperty("count", out var count) ? count.GetInt64() : null;
            if (listed.SequenceEqual([user]) && counted == 1)
            {
                break;
            }

            await Task.Delay(100);
        }

        Assert.Equal([user], listed);
        Assert.Equal(1, counted);
    }

    /// <summary>
    /// probe51: a login whose visitor had sent nothing yet links the anonymous id to the person, and reading the visitor
    /// answered "not found" where a merged visitor answers as the person.
    /// </summary>
    [Fact]
    public async Task A_visitor_linked_by_a_login_before_sending_anything_reads_as_the_person()
    {
        var tenant = NewId("idl-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        await IngestAsync(Silo, tenant, [Event("login", "identify", user, anonymous, DateTimeOffset.UtcNow.AddMinutes(-5))]);
        await WaitForAsync(Silo, tenant, user, 1);

        var asVisitor = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "anon:" + anonymous });
        Assert.Equal((user, 1L), (asVisitor.UserId, asVisitor.EventsApplied));
        using var document = await Silo.Http.GetAsync($"/v1/tenants/{tenant}/users/anon:{anonymous}/document");
        var body = await document.Content.ReadAsStringAsync();
        Assert.True(document.IsSuccessStatusCode, body);
        Assert.Equal(user, JsonDocument.Parse(body).RootElement.GetProperty("userId").GetString());
        var both = await Silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = tenant, UserIds = { "anon:" + anonymous, "anon:" + NewId("nobody-") } });
        Assert.Equal([user], both.Profiles.Select(p => p.UserId));
    }

    /// <summary>
    /// probe58: a consent change or an attribute written to a merged visitor, a merged CRM duplicate or a visitor a login
    /// only linked answered 200 and was lost: it stayed on a profile no read looks at, and the person stayed personalized.
    /// </summary>
    [Fact]
    public async Task Direct_writes_to_a_merged_or_linked_id_reach_the_person()
    {
        var tenant = NewId("idw-");
        var (user, other) = (NewId("u-"), NewId("u-"));
        var (merged, linked) = (NewId("v-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        await IngestAsync(Silo, tenant, [Event("view", "product_view", null, merged, now.AddMinutes(-1))]);
        await WaitForAsync(Silo, tenant, "anon:" + merged, 1);
        await IngestAsync(Silo, tenant, [Event("login-1", "page_view", user, merged, now), Event("login-2", "identify", other, linked, now)]);
        await MergedIdentityAsync(Silo, tenant, user);
        await WaitForAsync(Silo, tenant, other, 1);

        var optedOut = await Silo.Client.SetPreferencesAsync(new SetPreferencesRequest
        {
            Tenant = tenant, UserId = "anon:" + merged, Preference = new PreferenceSet { PersonalizationOptIn = false },
        });
        Assert.Equal((user, false), (optedOut.Profile.UserId, optedOut.Profile.Preferences.PersonalizationOptIn));
        var person = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = user });
        Assert.False(person.Preferences.PersonalizationOptIn);

        var moved = await Silo.Client.UpsertAttributesAsync(new UpsertAttributesRequest
        {
            Tenant = tenant, UserId = "anon:" + linked, Demographics = new Demographics { City = "Lyon" },
        });
        Assert.Equal((other, "Lyon"), (moved.Profile.UserId, moved.Profile.Demographics.City));
        var linkedPerson = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = other });
        Assert.Equal("Lyon", linkedPerson.Demographics.City);

        // The visitor made no profile of its own with the write: it still reads as the person.
        var asLinked = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "anon:" + linked });
        Assert.Equal((other, "Lyon"), (asLinked.UserId, asLinked.Demographics.City));
    }

    /// <summary>
    /// review59: a write through a merged id stayed with the person after an operator's unmerge said these are two people;
    /// and the merged id's own bounds, not the person's, decided whether it was taken.
    /// </summary>
    [Fact]
    public async Task A_write_through_a_merged_id_leaves_the_person_at_the_unmerge_and_meets_the_persons_bounds()
    {
        var tenant = NewId("idwu-");
        var (user, visitor) = (NewId("u-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        await IngestAsync(Silo, tenant, [Event("view", "product_view", null, visitor, now.AddMinutes(-1))]);
        await WaitForAsync(Silo, tenant, "anon:" + visitor, 1);
        await IngestAsync(Silo, tenant, [Event("login", "page_view", user, visitor, now)]);
        var merge = Assert.Single(Merges(await MergedIdentityAsync(Silo, tenant, user)));

        // The person has room for one more trait; the write through the visitor's id takes it.
        var full = new UpsertAttributesRequest { Tenant = tenant, UserId = user };
        full.Traits.Add(Enumerable.Range(0, 30).ToDictionary(i => $"a{i}", _ => "v"));
        await Silo.Client.UpsertAttributesAsync(full);
        full.Traits.Clear();
        full.Traits.Add(Enumerable.Range(30, 19).ToDictionary(i => $"a{i}", _ => "v"));
        await Silo.Client.UpsertAttributesAsync(full);
        var written = await Silo.Client.UpsertAttributesAsync(new UpsertAttributesRequest
        {
            Tenant = tenant, UserId = "anon:" + visitor, Demographics = new Demographics { City = "Lyon" }, Traits = { ["shared-device"] = "yes" },
        });
        Assert.Equal((user, "Lyon", 50), (written.Profile.UserId, written.Profile.Demographics.City, written.Profile.Demographics.Traits.Count));
        var refused = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.UpsertAttributesAsync(new UpsertAttributesRequest
        {
            Tenant = tenant, UserId = "anon:" + visitor, Traits = { ["one-too-many"] = "yes" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);

        await UnmergeAsync(Silo, tenant, merge.GetProperty("mergeId").GetString()!);

        var person = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = user });
        Assert.False(person.Demographics.HasCity, "the visitor's city left the person with the unmerge");
        Assert.DoesNotContain("shared-device", person.Demographics.Traits.Keys);
        Assert.Equal(49, person.Demographics.Traits.Count);
        var alone = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "anon:" + visitor });
        Assert.Equal(("anon:" + visitor, "Lyon", "yes"), (alone.UserId, alone.Demographics.City, alone.Demographics.Traits["shared-device"]));
        Assert.DoesNotContain("one-too-many", alone.Demographics.Traits.Keys);
    }

    /// <summary>
    /// probe52: a merged visitor's segment routes said "no segmentation model yet, or no behavioral events", a visitor a
    /// login only linked read as the person without the person's segment, and its identity route said 404.
    /// </summary>
    [Fact]
    public async Task Merged_and_linked_visitors_answer_the_segment_routes_as_their_person()
    {
        var tenant = NewId("idsg-");
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var users = Enumerable.Range(0, 12).Select(i => NewId($"u{i}-")).ToList();
        var (merged, linked) = (NewId("v-"), NewId("v-"));
        var events = new List<ProfileGrid.Contracts.V1.Event>();
        for (var i = 0; i < users.Count; i++)
        {
            // Two kinds of customers, so that two segments exist: a few recent big buyers and the lapsed rest.
            for (var order = 0; order < (i % 2 == 0 ? 6 : 1); order++)
            {
                events.Add(Event($"{users[i]}-o{order}", "purchase", users[i], null, now.AddDays(i % 2 == 0 ? -order - 1 : -300 - order)));
            }
        }

        events.Add(Event("v-view", "product_view", null, merged, now.AddDays(-2)));
        await IngestAsync(Silo, tenant, events);
        await WaitForAsync(Silo, tenant, "anon:" + merged, 1);
        await IngestAsync(Silo, tenant, [Event("login-1", "page_view", users[0], merged, now), Event("login-2", "page_view", users[1], linked, now)]);
        await MergedIdentityAsync(Silo, tenant, users[0]);

        var segments = new SegmentService.SegmentServiceClient(Silo.Calls);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant })).UsersWithFeatures < users.Count)
        {
            Assert.True(DateTime.UtcNow < deadline, "the users' features never reached the shards");
            await Task.Delay(200);
        }

        await segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = tenant, K = 2 });
        async Task<SegmentMembership> SegmentOfAsync(string user)
        {
            while (true)
            {
                try
                {
                    return await segments.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = tenant, UserId = user });
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(200); // the model reaches every shard, and every user's features their shard, in a moment
                }
            }
        }

        var ofPerson = await SegmentOfAsync(users[0]);

        var ofMerged = await segments.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = tenant, UserId = "anon:" + merged });
        Assert.Equal((users[0], ofPerson.SegmentId), (ofMerged.UserId, ofMerged.SegmentId)); // the answer says whose segment it is
        var explained = await segments.ExplainUserSegmentAsync(new ExplainUserSegmentRequest { Tenant = tenant, UserId = "anon:" + merged });
        Assert.Equal((users[0], ofPerson.SegmentId), (explained.UserId, explained.Segment.SegmentId));

        var ofLinkedPerson = await SegmentOfAsync(users[1]);
        var ofLinked = await segments.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = tenant, UserId = "anon:" + linked });
        Assert.Equal((users[1], ofLinkedPerson.SegmentId), (ofLinked.UserId, ofLinked.SegmentId));
        var asLinked = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "anon:" + linked });
        Assert.Equal((users[1], ofLinkedPerson.SegmentId, users[1]), (asLinked.UserId, asLinked.Segment?.SegmentId, asLinked.Segment?.UserId));
        var explainedLinked = await segments.ExplainUserSegmentAsync(new ExplainUserSegmentRequest { Tenant = tenant, UserId = "anon:" + linked });
        Assert.Equal((users[1], ofLinkedPerson.SegmentId), (explainedLinked.UserId, explainedLinked.Segment.SegmentId));

        using var identity = await Silo.Http.GetAsync($"/v1/tenants/{tenant}/identity/anon:{linked}");
        var body = await identity.Content.ReadAsStringAsync();
        Assert.True(identity.IsSuccessStatusCode, body);
        Assert.Equal(users[1], JsonDocument.Parse(body).RootElement.GetProperty("linkedTo").GetString());

        // Someone nobody linked is still not found, with the reason that applies.
        var nobody = await Assert.ThrowsAsync<RpcException>(() => segments.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = tenant, UserId = "anon:" + NewId("nobody-") }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, nobody.StatusCode);
    }

    /// <summary>
    /// probe51: an order the person's CRM sent and the visitor sent from the web too is one purchase in the person's
    /// profile after the login, and was two in the tenant's stats (each side had counted it when it applied it).
    /// </summary>
    [Fact]
    public async Task An_order_both_the_person_and_the_visitor_reported_counts_once_in_the_stats_after_the_login()
    {
        var tenant = NewId("ids-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var at = DateTimeOffset.UtcNow.AddDays(-1);
        var fromCrm = Event("crm-order", "purchase", user, null, at, source: "crm");
        var fromWeb = Event("web-order", "purchase", null, anonymous, at.AddMinutes(1));
        fromWeb.Purchase.OrderId = fromCrm.Purchase.OrderId;
        await IngestAsync(Silo, tenant, [fromCrm, fromWeb]);
        await WaitForAsync(Silo, tenant, user, 1);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, 1);

        await IngestAsync(Silo, tenant, [Event("login", "identify", user, anonymous, at.AddMinutes(2))]);
        await MergedIdentityAsync(Silo, tenant, user);
        var person = await WaitForAsync(Silo, tenant, user, 2);
        Assert.Equal(1, person.Behavior.Orders);

        Assert.Equal((1L, 1L, 2L), await StatsAsync(tenant, (1, 1, 2)));
    }

    [Fact]
    public async Task An_order_the_visitor_reports_after_the_login_that_the_person_had_from_the_crm_counts_once_in_the_stats()
    {
        // The visitor's record after the merge is forwarded to the person, who finds the order there already; the visitor
        // applied it too (its own copy) and counted it, so the stats had two purchases for one (review54).
        var tenant = NewId("ids-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var at = DateTimeOffset.UtcNow.AddDays(-1);
        var fromCrm = Event("crm-order", "purchase", user, null, at, source: "crm");
        await IngestAsync(Silo, tenant, [fromCrm, Event("view-1", "page_view", null, anonymous, at.AddMinutes(1))]);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, 1);
        await IngestAsync(Silo, tenant, [Event("login", "identify", user, anonymous, at.AddMinutes(2))]);
        await MergedIdentityAsync(Silo, tenant, user);
        await WaitForAsync(Silo, tenant, user, 3);

        var fromWeb = Event("web-order", "purchase", null, anonymous, at.AddMinutes(3));
        fromWeb.Purchase.OrderId = fromCrm.Purchase.OrderId;
        await IngestAsync(Silo, tenant, [fromWeb, Event("view-2", "page_view", null, anonymous, at.AddMinutes(4))]);
        var person = await WaitForAsync(Silo, tenant, user, 4);
        Assert.Equal(1, person.Behavior.Orders);

        Assert.Equal((1L, 1L, 4L), await StatsAsync(tenant, (1, 1, 4)));
    }

    /// <summary>The tenant's profile count, purchases and events applied, once they read <paramref name="expected"/> (or after 30 s).</summary>
    private async Task<(long Count, long Purchases, long Applied)> StatsAsync(string tenant, (long, long, long) expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        (long Count, long Purchases, long Applied) seen = default;
        while (DateTime.UtcNow < deadline)
        {
            using var answer = await Silo.Http.GetAsync($"/v1/tenants/{tenant}/stats");
            if (answer.IsSuccessStatusCode)
            {
                using var stats = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
                var profiles = stats.RootElement.GetProperty("profiles");
                var purchases = profiles.GetProperty("eventsByType").TryGetProperty("purchase", out var counted) ? counted.GetInt64() : 0; // absent until counted
                seen = (profiles.GetProperty("count").GetInt64(), purchases, profiles.GetProperty("eventsApplied").GetInt64());
                if (seen == expected)
                {
                    break;
                }
            }

            await Task.Delay(100);
        }

        return seen;
    }

    /// <summary>
    /// Event ids are unique per user, not per tenant: an app numbering its events per device and a shop numbering its
    /// orders both send "1". A merge, a member's later event and an unmerge's rebuild all keep both.
    /// </summary>
    [Fact]
    public async Task Events_of_the_visitor_and_the_user_that_share_ids_all_count_through_merges_forwarding_and_an_unmerge()
    {
        var tenant = NewId("ids-");
        var (user, phone, tablet) = (NewId("u-"), NewId("v-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        await IngestAsync(Silo, tenant,
        [
            Event("1", "purchase", user, null, now.AddDays(-10)),
            Event("2", "purchase", user, null, now.AddDays(-9)),
            Event("1", "add_to_cart", null, phone, now.AddDays(-5)),
            Event("2", "product_view", null, phone, now.AddDays(-5).AddMinutes(1)),
            Event("3", "product_view", null, phone, now.AddDays(-5).AddMinutes(2)),
            Event("1", "page_view", null, tablet, now.AddDays(-4)),
        ]);
        await WaitForAsync(Silo, tenant, user, 2);
        await WaitForAsync(Silo, tenant, "anon:" + phone, 3);
        await WaitForAsync(Silo, tenant, "anon:" + tablet, 1);

        // Logins from both devices, then one more event each from the phone (forwarded) and the user, both numbered "6".
        await IngestAsync(Silo, tenant, [Event("4", "page_view", user, phone, now.AddDays(-1))]);
        await WaitForAsync(Silo, tenant, user, 2 + 3 + 1);
        await IngestAsync(Silo, tenant, [Event("5", "page_view", user, tablet, now.AddHours(-20))]);
        await WaitForAsync(Silo, tenant, user, 6 + 1 + 1);
        await IngestAsync(Silo, tenant, [Event("6", "product_view", null, phone, now.AddHours(-1)), Event("6", "page_view", user, null, now.AddMinutes(-50))]);
        var merged = await WaitForAsync(Silo, tenant, user, 8 + 2);
        Assert.Equal(1, merged.Behavior.EventCounts["add_to_cart"]);
        Assert.Equal(2, merged.Behavior.Orders);
        var phoneMerge = Assert.Single(Merges(await MergedIdentityAsync(Silo, tenant, user, 2)), m => m.GetProperty("from").GetString() == "anon:" + phone);
        Assert.Equal(3, phoneMerge.GetProperty("eventsMoved").GetInt32());

        // Without the phone the user is their own five events and the tablet's one, the "1" of each included.
        await UnmergeAsync(Silo, tenant, phoneMerge.GetProperty("mergeId").GetString()!);
        var rebuilt = await WaitForAsync(Silo, tenant, user, 5 + 1);
        Assert.Equal(0, rebuilt.Behavior.EventCounts.GetValueOrDefault("add_to_cart"));
        Assert.Equal(4, (await TryGetAsync(Silo, tenant, "anon:" + phone))!.EventsApplied);
    }

    [Fact]
    public async Task Replays_and_concurrent_logins_merge_once()
    {
        var (tenant, oracle) = (NewId("idr-"), NewId("idq-"));
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var events = VisitorLife(user, anonymous, seed: 23, out var login);
        var distinct = events.Select(e => e.EventId).Distinct().Count();

        // The anonymous history first; then the login from many clients at once (each its own event id, as two tabs or
        // two silos would send it), then the whole stream again (a client that retried everything).
        var anonymousFirst = events.Where(e => e.UserId == "").DistinctBy(e => e.EventId).ToList();
        await IngestAsync(Silo, tenant, anonymousFirst);
        var logins = Enumerable.Range(0, 8).Select(i => { var copy = login.Clone(); copy.EventId = $"{login.EventId}-{i}"; return copy; }).ToList();
        await Task.WhenAll(logins.Select(l => IngestAsync(Silo, tenant, [l])));
        await IngestAsync(Silo, tenant, events);
        await IngestAsync(Silo, tenant, events.AsEnumerable().Reverse());

        await IngestAsync(Silo, oracle, AsKnownUser([.. events, .. logins], user));
        await WaitForAsync(Silo, oracle, user, distinct + logins.Count);
        await WaitForAsync(Silo, tenant, user, distinct + logins.Count);
        var asOf = At(DateTimeOffset.UtcNow);
        Assert.Equal(Comparable((await TryGetAsync(Silo, oracle, user, asOf))!), Comparable((await TryGetAsync(Silo, tenant, user, asOf))!));
        var merge = Assert.Single(Merges(await MergedIdentityAsync(Silo, tenant, user)));
        Assert.Equal("merged", merge.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_login_before_any_anonymous_event_links_and_later_anonymous_events_reach_the_user_once()
    {
        var tenant = NewId("idk-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-10);
        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "page_view", user, anonymous, now)]);
        await WaitForAsync(Silo, tenant, user, 1);
        Assert.Empty(Merges(await IdentityAsync(Silo, tenant, user))); // linked, nothing to merge yet
        Assert.Contains("anon:" + anonymous, (await IdentityAsync(Silo, tenant, user)).GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()));

        // The app, which sends only the device id, afterwards; one event twice.
        var late = Enumerable.Range(0, 3).Select(i => Event(NewId("e-"), "product_view", null, anonymous, now.AddMinutes(1 + i))).ToList();
        await IngestAsync(Silo, tenant, [.. late, late[0]]);
        await WaitForAsync(Silo, tenant, user, 4);
        Assert.Equal(user, (await TryGetAsync(Silo, tenant, "anon:" + anonymous))!.UserId);
        Assert.Equal("merged", Assert.Single(Merges(await MergedIdentityAsync(Silo, tenant, user))).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_user_erased_and_returning_with_the_same_device_is_merged_again_by_the_silo_that_saw_the_first_login()
    {
        // An outside probe (probe44): the gateway remembers claims it made (per silo), and after an erasure it went on
        // skipping the returning user's login, so the visitor stayed a separate profile on that silo only.
        var tenant = NewId("ide-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var before = DateTimeOffset.UtcNow.AddMinutes(-10);
        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "page_view", null, anonymous, before)]);
        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "page_view", user, anonymous, before.AddMinutes(1))]);
        await WaitForAsync(Silo, tenant, user, 2);
        Assert.Single(Merges(await MergedIdentityAsync(Silo, tenant, user)));

        var receipt = await Silo.Client.DeleteUserAsync(new DeleteUserRequest { Tenant = tenant, UserId = user });
        Assert.Contains("anon:" + anonymous, receipt.ProfilesErased);

        var after = DateTimeOffset.UtcNow.AddSeconds(1);
        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "page_view", null, anonymous, after)]);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, 1);
        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "page_view", user, anonymous, after.AddSeconds(1))]);

        var returning = await WaitForAsync(Silo, tenant, user, 2);
        Assert.Equal(2, returning.EventsApplied);
        Assert.Equal(["anon:" + anonymous], (await IdentityAsync(Silo, tenant, user)).GetProperty("members").EnumerateArray().Select(m => m.GetString()!).ToArray());
    }

    [Fact]
    public async Task A_login_dated_before_an_erasure_arriving_after_it_brings_nobody_back()
    {
        // An outside probe (probe48): a client retried a request from before the erasure; its login was dropped as an
        // event but still claimed, merged the device's history into the erased user, and the user was readable again.
        var tenant = NewId("idr-");
        var (user, anonymous) = (NewId("zed-"), NewId("dev-"));
        var before = DateTimeOffset.UtcNow.AddDays(-30);
        await IngestAsync(Silo, tenant,
        [
            Event(NewId("e-"), "page_view", user, null, before),
            Event(NewId("e-"), "page_view", null, anonymous, before.AddDays(-5)),
            Event(NewId("e-"), "page_view", null, anonymous, before.AddDays(-4)),
        ]);
        await WaitForAsync(Silo, tenant, user, 1);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, 2);
        await Silo.Client.DeleteUserAsync(new DeleteUserRequest { Tenant = tenant, UserId = user });

        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "page_view", user, anonymous, before.AddDays(1))]);
        // A later event of the device shows the retried login has been through the gateway and the log.
        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "page_view", null, anonymous, DateTimeOffset.UtcNow.AddMinutes(-1))]);
        var device = await WaitForAsync(Silo, tenant, "anon:" + anonymous, 3);

        Assert.Equal("anon:" + anonymous, device.UserId);
        Assert.Null(await TryGetAsync(Silo, tenant, user));
        using var identity = await Silo.Http.GetAsync($"/v1/tenants/{tenant}/identity/{user}");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, identity.StatusCode);
    }

    [Fact]
    public async Task An_anonymous_id_seen_with_a_second_user_is_a_conflict_not_a_merge()
    {
        var tenant = NewId("idc-");
        var (alice, bob, anonymous) = (NewId("alice-"), NewId("bob-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-10);
        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "product_view", null, anonymous, now)]);
        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "page_view", alice, anonymous, now.AddMinutes(1))]);
        await IngestAsync(Silo, tenant, [Event(NewId("e-"), "page_view", bob, anonymous, now.AddMinutes(2))]);

        await WaitForAsync(Silo, tenant, alice, 2);
        await WaitForAsync(Silo, tenant, bob, 1);
        var bobIdentity = await IdentityAsync(Silo, tenant, bob);
        Assert.Empty(Merges(bobIdentity));
        var conflict = Assert.Single(bobIdentity.GetProperty("conflicts").EnumerateArray());
        Assert.Equal(alice, conflict.GetProperty("heldBy").GetString());
        Assert.Equal("anon:" + anonymous, conflict.GetProperty("identifier").GetString());
        var aliceIdentity = await IdentityAsync(Silo, tenant, alice);
        Assert.Contains(aliceIdentity.GetProperty("conflicts").EnumerateArray(), c => c.GetProperty("shownBy").GetString() == bob);

        // Erasing bob takes him out of alice's record too: her copy of the conflict named him.
        using var erased = await Silo.Http.DeleteAsync($"/v1/tenants/{tenant}/users/{Uri.EscapeDataString(bob)}");
        Assert.True(erased.IsSuccessStatusCode, await erased.Content.ReadAsStringAsync());
        var afterErasure = (await IdentityAsync(Silo, tenant, alice)).GetRawText();
        Assert.DoesNotContain(bob, afterErasure, StringComparison.Ordinal);
        // The visitor is alice's: her merge and the visitor's history stay (bob's login only named the id).
        var kept = Assert.Single(Merges(await IdentityAsync(Silo, tenant, alice)));
        Assert.Equal("anon:" + anonymous, kept.GetProperty("from").GetString());
        Assert.Equal("merged", kept.GetProperty("status").GetString());
        Assert.Equal(2, (await TryGetAsync(Silo, tenant, alice))!.EventsApplied);
    }

    /// <summary>
    /// A visitor with more events than a profile's window of recent ids (2,000) logs in, and then their device sends its
    /// whole history again (an app's retry after a reinstall): the person counts each event once. The oldest of the
    /// forwarded events are known only to the canonical profile's archive of older ids, which it now asks.
    /// </summary>
    [Fact]
    public async Task A_merged_visitors_whole_history_sent_again_counts_once_in_the_person()
    {
        var tenant = NewId("idh-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var start = DateTimeOffset.UtcNow.AddDays(-300);
        var history = Enumerable.Range(0, 2600)
            .Select(i => Event($"h-{i}", i % 2 == 0 ? "page_view" : "product_view", null, anonymous, start.AddMinutes(i * 97)))
            .ToList();
        await IngestAsync(Silo, tenant, history, perRequest: 500);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, history.Count, TimeSpan.FromSeconds(60));

        await IngestAsync(Silo, tenant, [Event("login-1", "page_view", user, anonymous, DateTimeOffset.UtcNow.AddMinutes(-2))]);
        await WaitForAsync(Silo, tenant, user, history.Count + 1, TimeSpan.FromSeconds(60));

        // The device's whole history again, then one new anonymous event behind it: once the person has that one, the
        // resent events have been forwarded too.
        await IngestAsync(Silo, tenant, history, perRequest: 500);
        await IngestAsync(Silo, tenant, [Event("after-1", "page_view", null, anonymous, DateTimeOffset.UtcNow.AddMinutes(-1))]);
        var person = await WaitForAsync(Silo, tenant, user, history.Count + 2, TimeSpan.FromSeconds(60));
        await Task.Delay(1000);
        Assert.Equal(history.Count + 2, (await TryGetAsync(Silo, tenant, user))!.EventsApplied);
        Assert.Equal(history.Count / 2 + 2, person.Behavior.EventCounts["page_view"]);

        // Unmerged, the visitor is as if it had never merged: each of its events once (the merged profile applied the
        // resent ones too, asking its own archive).
        var merge = Assert.Single(Merges(await MergedIdentityAsync(Silo, tenant, user)));
        await UnmergeAsync(Silo, tenant, merge.GetProperty("mergeId").GetString()!);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, history.Count + 1, TimeSpan.FromSeconds(60));
        await WaitForAsync(Silo, tenant, user, 1, TimeSpan.FromSeconds(60));
    }
}
