using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Azure.Data.Tables;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using ProfileGrid.Cli;
using ProfileGrid.Contracts.V1;
using Spectre.Console.Testing;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>A silo with API keys on (the default: no Auth:Enabled given), its bootstrap operator key in a temp file.</summary>
public sealed class KeyedSiloFixture : IAsyncLifetime
{
    /// <summary>The revocation bound under test: a key checked on a silo is trusted this long.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(2);

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("profilegrid-keys-");

    public SiloProcess Silo { get; private set; } = null!;

    public string KeyFile => Path.Combine(_folder.FullName, "admin.key");

    public string OperatorKey { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Silo = await SiloProcess.StartEphemeralAsync(
            $"--ProfileGrid:Auth:BootstrapKeyFile={KeyFile}", $"--ProfileGrid:Auth:CacheFor={CacheFor}",
            "--ProfileGrid:Stats:FlushInterval=00:00:00.200", "--ProfileGrid:Admin:OrleansDashboard=true");
        OperatorKey = File.ReadAllText(KeyFile).Trim();
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        _folder.Delete(recursive: true);
    }
}

[CollectionDefinition(Name)]
public sealed class KeyedSiloCollection : ICollectionFixture<KeyedSiloFixture>
{
    public const string Name = "keyed-silo";
}

/// <summary>
/// API keys from the outside, over loopback HTTP and gRPC: every endpoint (from the silo's own route table and the
/// contract's service descriptors) refuses no key and a key of another tenant; scopes; revocation; rate limits; odd
/// tenant ids; the CLI.
/// </summary>
[Collection(KeyedSiloCollection.Name)]
public sealed class AccessTests(KeyedSiloFixture fixture)
{
    private static readonly ServiceDescriptor[] Services =
        [ProfileGateway.Descriptor, SegmentService.Descriptor, RecommendationService.Descriptor, ExperimentService.Descriptor];

    private SiloProcess Silo => fixture.Silo;

    private static string NewTenant(string prefix = "t") => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private HttpRequestMessage Request(HttpMethod method, string path, string? key, string? json = null, bool xApiKey = false)
    {
        var request = new HttpRequestMessage(method, path);
        if (key is not null)
        {
            if (xApiKey)
            {
                request.Headers.Add("x-api-key", key);
            }
            else
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            }
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return request;
    }

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, string? key, string? json = null, bool xApiKey = false)
    {
        using var request = Request(method, path, key, json, xApiKey);
        var response = await Silo.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Theory]
    [InlineData("\"permitsPerSecnd\": 5", "permitsPerSecnd: is not a field here")]
    [InlineData("\"permitsPerSecond\": \"x\"", "permitsPerSecond: expected a whole number from 1 to 2147483647")]
    [InlineData("\"permitsPerSecond\": 1e12", "permitsPerSecond: expected a whole number from 1 to 2147483647")]
    [InlineData("\"burst\": 2.5", "burst: expected a whole number from 1 to 2147483647")]
    [InlineData("\"allTenants\": \"no\"", "allTenants: expected true or false")]
    public async Task A_key_definition_with_an_unknown_field_or_a_wrong_type_is_refused_naming_the_field(string extra, string reason)
    {
        // probe68: a typo of a rate setting made a key with the default (much higher) rate, answered 201; a wrong type was
        // "could not be read" with no field named.
        var tenant = "kf-" + Guid.NewGuid().ToString("N")[..8];
        var (status, text, _) = await SendAsync(HttpMethod.Post, "/v1/admin/keys", fixture.OperatorKey,
            "{\"name\": \"r\", \"scopes\": [\"read\"], \"tenants\": [\"" + tenant + "\"], " + extra + "}");
        Assert.True(status == HttpStatusCode.BadRequest, $"{(int)status} {text}");
        Assert.StartsWith(reason, ErrorText(text), StringComparison.Ordinal);

        var (listed, keys, _) = await SendAsync(HttpMethod.Get, "/v1/admin/keys", fixture.OperatorKey);
        Assert.True(listed == HttpStatusCode.OK, keys);
        Assert.DoesNotContain(tenant, keys, StringComparison.Ordinal); // no key was made
    }

    /// <summary>The words of an error body: "error" (this gateway's) or "message" (gRPC transcoding's).</summary>
    private static string ErrorText(string body)
    {
        try
        {
            var root = JsonDocument.Parse(body).RootElement;
            return (root.TryGetProperty("error", out var error) ? error : root.GetProperty("message")).GetString()!;
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return body;
        }
    }

    private async Task<(string Id, string Secret)> CreateKeyAsync(object body)
    {
        var (status, text, _) = await SendAsync(HttpMethod.Post, "/v1/admin/keys", fixture.OperatorKey, JsonSerializer.Serialize(body));
        Assert.True(status == HttpStatusCode.Created, text);
        using var document = JsonDocument.Parse(text);
        return (document.RootElement.GetProperty("key").GetProperty("id").GetString()!, document.RootElement.GetProperty("secret").GetString()!);
    }

    private Task<(string Id, string Secret)> TenantKeyAsync(string tenant, params string[] scopes) =>
        CreateKeyAsync(new { name = "test", scopes, tenants = new[] { tenant } });

    private static string IngestJson(string tenant, string user, string? eventTenant = null) => JsonSerializer.Serialize(new
    {
        tenant,
        events = new object[]
        {
            new
            {
                eventId = "e-" + Guid.NewGuid().ToString("N")[..10], type = "page_view", userId = user, tenant = eventTenant ?? "",
                occurredAt = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"), source = "web", page = new { url = "/" },
            },
        },
    });

    private static Metadata Bearer(string key) => new() { { "authorization", "Bearer " + key } };

    /// <summary>A call of any method by its descriptor, with the request's tenant (and, for ingest, one event) set.</summary>
    private async Task<StatusCode> CallAsync(MethodDescriptor method, string tenant, Metadata? headers)
    {
        IMessage request;
        if (method.InputType.ClrType == typeof(IngestEventsRequest))
        {
            var ingest = new IngestEventsRequest { Tenant = tenant };
            ingest.Events.Add(new WireEvent
            {
                EventId = "e-1", Type = "page_view", UserId = "u-1", OccurredAt = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"), Source = "web",
                Page = new PageView { Url = "/" },
            });
            request = ingest;
        }
        else
        {
            request = (IMessage)Activator.CreateInstance(method.InputType.ClrType)!;
            var field = method.InputType.FindFieldByName("tenant");
            Assert.True(field is not null, $"{method.FullName}: its request has no tenant field, so no tenant check can apply");
            field.Accessor.SetValue(request, tenant);
        }

        var grpcMethod = new Method<IMessage, IMessage>(MethodType.Unary, method.Service.FullName, method.Name,
            Marshallers.Create(m => m.ToByteArray(), bytes => method.OutputType.Parser.ParseFrom(bytes)),
            Marshallers.Create(m => m.ToByteArray(), bytes => method.OutputType.Parser.ParseFrom(bytes)));
        try
        {
            await Silo.Calls.AsyncUnaryCall(grpcMethod, null, new CallOptions(headers), request);
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    private async Task<JsonElement[]> AccessTableAsync()
    {
        var (status, text, _) = await SendAsync(HttpMethod.Get, "/v1/admin/access", fixture.OperatorKey);
        Assert.True(status == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("endpoints").EnumerateArray().ToArray();
    }

    /// <summary>A concrete path for a route pattern: the tenant given, "1" for every other parameter.</summary>
    private static string PathFor(string pattern, string tenant) =>
        Regex.Replace(pattern.Replace("{tenant}", Uri.EscapeDataString(tenant), StringComparison.Ordinal), @"\{[^}]+\}", "1");

    [Fact]
    public async Task Every_endpoint_has_a_rule_and_refuses_no_key_and_a_key_of_another_tenant()
    {
        var table = await AccessTableAsync();
        var unruled = table.Where(e => e.GetProperty("access").GetString() == "none").Select(e => e.GetProperty("pattern").GetString()).ToList();
        Assert.True(unruled.Count == 0, "endpoints without an access rule: " + string.Join(", ", unruled));

        // Every method of the contract is routed (natively and transcoded) and has a rule.
        var ruled = table.Where(e => e.GetProperty("grpcMethod").ValueKind == JsonValueKind.String)
            .Select(e => e.GetProperty("grpcMethod").GetString()).ToHashSet();
        foreach (var method in Services.SelectMany(s => s.Methods))
        {
            Assert.Contains($"/{method.Service.FullName}/{method.Name}", ruled);
        }

        var (tenantA, tenantB) = (NewTenant("a"), NewTenant("b"));
        var (_, keyA) = await CreateKeyAsync(new { name = "tenant A, every scope", scopes = new[] { "ingest", "read", "admin" }, tenants = new[] { tenantA } });

        // B exists (it has a profile); C never did. Both are refused with the same words.
        var ingestB = await SendAsync(HttpMethod.Post, "/v1/events:ingest", fixture.OperatorKey, IngestJson(tenantB, "u-1"));
        Assert.True(ingestB.Status == HttpStatusCode.OK, ingestB.Body);

        var checkedRoutes = 0;
        foreach (var endpoint in table)
        {
            var access = endpoint.GetProperty("access").GetString();
            var pattern = endpoint.GetProperty("pattern").GetString()!;
            if (access == "open" || pattern.StartsWith("/grpc.", StringComparison.Ordinal) || pattern.StartsWith("/profilegrid.", StringComparison.Ordinal))
            {
                continue; // native gRPC routes are called through the descriptors below
            }

            var verb = endpoint.GetProperty("methods").EnumerateArray().Select(m => m.GetString()).FirstOrDefault() ?? "GET";
            var method = new HttpMethod(verb);
            var json = verb is "POST" or "PUT" ? "{}" : null;
            var path = PathFor(pattern, tenantB);
            if (pattern == "/v1/events:ingest")
            {
                json = IngestJson(tenantB, "u-2");
            }

            var none = await SendAsync(method, path, null, json);
            Assert.True(none.Status == HttpStatusCode.Unauthorized, $"{verb} {path} without a key: {(int)none.Status} {none.Body}");
            Assert.Contains("API key is required", ErrorText(none.Body));

            var other = await SendAsync(method, path, keyA, json);
            if (access == "anytenant")
            {
                // The ingest route's other methods answer what they are for: 405, naming POST.
                var expected = pattern == "/v1/events:ingest" && verb != "POST" ? HttpStatusCode.MethodNotAllowed : HttpStatusCode.OK;
                Assert.True(other.Status == expected, $"{verb} {path}: {(int)other.Status} {other.Body}");
                Assert.DoesNotContain(tenantB, other.Body);
                continue;
            }

            Assert.True(other.Status == HttpStatusCode.Forbidden, $"{verb} {path} with a key of another tenant: {(int)other.Status} {other.Body}");
            Assert.Contains(access == "operator" ? "operator key" : $"not bound to tenant '{tenantB}'", ErrorText(other.Body));
            if (access == "tenant")
            {
                var tenantC = NewTenant("c");
                var unknown = await SendAsync(method, PathFor(pattern, tenantC), keyA, json?.Replace(tenantB, tenantC, StringComparison.Ordinal));
                Assert.Equal(HttpStatusCode.Forbidden, unknown.Status);
                Assert.Equal(ErrorText(other.Body).Replace(tenantB, "X", StringComparison.Ordinal), ErrorText(unknown.Body).Replace(tenantC, "X", StringComparison.Ordinal));
            }

            checkedRoutes++;
        }

        Assert.True(checkedRoutes >= 45, $"only {checkedRoutes} REST routes were checked");

        foreach (var method in Services.SelectMany(s => s.Methods))
        {
            Assert.Equal(StatusCode.Unauthenticated, await CallAsync(method, tenantB, null));
            Assert.Equal(StatusCode.PermissionDenied, await CallAsync(method, tenantB, Bearer(keyA)));
        }
    }

    [Fact]
    public async Task Scopes_are_enforced_and_both_headers_are_accepted()
    {
        var tenant = NewTenant();
        var (_, read) = await TenantKeyAsync(tenant, "read");
        var (_, ingest) = await TenantKeyAsync(tenant, "ingest");
        var (_, admin) = await TenantKeyAsync(tenant, "admin", "read", "ingest");

        var refused = await SendAsync(HttpMethod.Post, "/v1/events:ingest", read, IngestJson(tenant, "u-1"));
        Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
        Assert.Contains("'ingest' scope", ErrorText(refused.Body));
        // Read as the route's other errors are (google.rpc.Status), and as the plain REST routes' ("error").
        using (var body = JsonDocument.Parse(refused.Body))
        {
            Assert.Equal((int)StatusCode.PermissionDenied, body.RootElement.GetProperty("code").GetInt32());
            Assert.Equal(0, body.RootElement.GetProperty("details").GetArrayLength());
            Assert.Equal(body.RootElement.GetProperty("message").GetString(), body.RootElement.GetProperty("error").GetString());
        }

        var badRequest = await SendAsync(HttpMethod.Post, "/v1/events:ingest", ingest, "{\"tenant\": \"" + tenant + "\"}");
        using (var body = JsonDocument.Parse(badRequest.Body))
        {
            Assert.Equal(HttpStatusCode.BadRequest, badRequest.Status);
            Assert.Equal((int)StatusCode.InvalidArgument, body.RootElement.GetProperty("code").GetInt32());
        }

        var noKey = await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/users/u-1/profile", null);
        using (var body = JsonDocument.Parse(noKey.Body))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noKey.Status);
            Assert.Equal((int)StatusCode.Unauthenticated, body.RootElement.GetProperty("code").GetInt32());
        }

        var accepted = await SendAsync(HttpMethod.Post, "/v1/events:ingest", ingest, IngestJson(tenant, "u-1"), xApiKey: true);
        Assert.True(accepted.Status == HttpStatusCode.OK, accepted.Body);

        var cannotRead = await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/users/u-1/profile", ingest);
        Assert.Equal(HttpStatusCode.Forbidden, cannotRead.Status);
        Assert.Contains("'read' scope", ErrorText(cannotRead.Body));
        var gateway = new ProfileGateway.ProfileGatewayClient(Silo.Calls);
        var grpcRefused = await Assert.ThrowsAsync<RpcException>(() => gateway.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "u-1" }, Bearer(ingest)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, grpcRefused.StatusCode);

        // The read key reads the profile the ingest key wrote (REST with Bearer, gRPC with x-api-key).
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var profile = await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/users/u-1/profile", read);
            if (profile.Status == HttpStatusCode.OK)
            {
                break;
            }

            Assert.True(profile.Status == HttpStatusCode.NotFound && DateTime.UtcNow < deadline, $"{(int)profile.Status} {profile.Body}");
            await Task.Delay(100);
        }

        var viaGrpc = await gateway.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "u-1" }, new Metadata { { "x-api-key", read } });
        Assert.Equal("u-1", viaGrpc.UserId);

        // A tenant's admin manages the tenant, not the grid.
        foreach (var path in new[] { "/v1/admin/ingest", "/v1/admin/keys", "/orleans/", "/healthz/detail" })
        {
            var operatorOnly = await SendAsync(HttpMethod.Get, path, admin);
            Assert.True(operatorOnly.Status == HttpStatusCode.Forbidden, $"{path}: {(int)operatorOnly.Status}");
        }

        var asOperator = await SendAsync(HttpMethod.Get, "/v1/admin/ingest", fixture.OperatorKey);
        Assert.Equal(HttpStatusCode.OK, asOperator.Status);

        // The Orleans dashboard in a browser: a Basic prompt, the operator key as the password.
        var prompt = await SendAsync(HttpMethod.Get, "/orleans/", null);
        Assert.Equal(HttpStatusCode.Unauthorized, prompt.Status);
        Assert.StartsWith("Basic", prompt.Response.Headers.WwwAuthenticate.Single().Scheme);
        using (var basic = new HttpRequestMessage(HttpMethod.Get, "/orleans/"))
        {
            basic.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ops:" + fixture.OperatorKey)));
            using var page = await Silo.Http.SendAsync(basic);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        }

        // Health and metrics stay open for probes and scrapers.
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/healthz", null)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/metrics", null)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/dashboard/", null)).Status);

        // A wrong or malformed key is refused like a missing one.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/segments", read[..^2] + "xx")).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/segments", "not-a-key")).Status);
    }

    [Fact]
    public async Task Only_an_admin_key_of_the_tenant_exports_or_erases_a_user()
    {
        var tenant = NewTenant();
        var (_, app) = await TenantKeyAsync(tenant, "read", "ingest");
        var (_, admin) = await TenantKeyAsync(tenant, "admin");
        var ingested = await SendAsync(HttpMethod.Post, "/v1/events:ingest", app, IngestJson(tenant, "u-1"));
        Assert.True(ingested.Status == HttpStatusCode.OK, ingested.Body);

        foreach (var (method, path) in new[] { (HttpMethod.Get, $"/v1/tenants/{tenant}/users/u-1/export"), (HttpMethod.Delete, $"/v1/tenants/{tenant}/users/u-1") })
        {
            var refused = await SendAsync(method, path, app);
            Assert.Equal(HttpStatusCode.Forbidden, refused.Status);
            Assert.Contains("'admin' scope", ErrorText(refused.Body));
        }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/users/u-1/export", admin)).Status != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "The export never found the user.");
            await Task.Delay(100);
        }

        var erased = await SendAsync(HttpMethod.Delete, $"/v1/tenants/{tenant}/users/u-1", admin);
        Assert.True(erased.Status == HttpStatusCode.OK, erased.Body);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/users/u-1/export", admin)).Status);
    }

    [Fact]
    public async Task A_batch_with_an_event_of_another_tenant_is_refused_whole()
    {
        var (tenant, other) = (NewTenant(), NewTenant());
        var (_, key) = await TenantKeyAsync(tenant, "ingest");
        var request = new IngestEventsRequest { Tenant = tenant };
        foreach (var (user, eventTenant) in new[] { ("u-1", ""), ("u-2", other) })
        {
            request.Events.Add(new WireEvent
            {
                EventId = "e-" + user, Type = "page_view", UserId = user, Tenant = eventTenant, Source = "web",
                OccurredAt = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"), Page = new PageView { Url = "/" },
            });
        }

        var refused = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.IngestEventsAsync(request, Bearer(key)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains($"events[1]", refused.Status.Detail);
        Assert.Contains($"'{other}'", refused.Status.Detail);
    }

    [Fact]
    public async Task A_method_a_route_does_not_take_is_405_with_allow_whether_or_not_a_key_is_sent()
    {
        // With keys on, the routing's 405 answer had no access rule and came back 403 "answers no one".
        var (_, key) = await TenantKeyAsync(NewTenant(), "admin");
        foreach (var sent in new[] { key, null })
        {
            var answer = await SendAsync(new HttpMethod("PATCH"), "/v1/tenants/shop/stats", sent);
            Assert.True(answer.Status == HttpStatusCode.MethodNotAllowed, $"{answer.Status}: {answer.Body}");
            Assert.Contains("PATCH is not allowed on /v1/tenants/shop/stats; it takes GET", answer.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_revoked_key_is_refused_within_the_cache_bound()
    {
        var tenant = NewTenant();
        var (id, key) = await TenantKeyAsync(tenant, "read");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/segments", key)).Status);

        var revoked = await SendAsync(HttpMethod.Post, $"/v1/admin/keys/{id}/revoke", fixture.OperatorKey);
        Assert.True(revoked.Status == HttpStatusCode.OK, revoked.Body);
        var at = DateTime.UtcNow;
        while ((await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/segments", key)).Status != HttpStatusCode.Unauthorized)
        {
            Assert.True(DateTime.UtcNow - at < KeyedSiloFixture.CacheFor + TimeSpan.FromSeconds(1), "the revoked key still worked after the bound");
            await Task.Delay(100);
        }

        var grpc = await Assert.ThrowsAsync<RpcException>(() =>
            new SegmentService.SegmentServiceClient(Silo.Calls).ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant }, Bearer(key)).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, grpc.StatusCode);
    }

    [Fact]
    public async Task Over_its_rate_a_key_gets_429_with_Retry_After_then_is_served_again()
    {
        var tenant = NewTenant();
        var (_, key) = await CreateKeyAsync(new { name = "slow", scopes = new[] { "read" }, tenants = new[] { tenant }, permitsPerSecond = 1, burst = 2 });
        var path = $"/v1/tenants/{tenant}/segments";
        (HttpStatusCode Status, string Body, HttpResponseMessage Response) answer = default;
        for (var i = 0; i < 10 && answer.Status != HttpStatusCode.TooManyRequests; i++)
        {
            answer = await SendAsync(HttpMethod.Get, path, key);
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, answer.Status);
        var retryAfter = int.Parse(answer.Response!.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 2);
        Assert.Contains("rate limit", ErrorText(answer.Body!));

        var segments = new SegmentService.SegmentServiceClient(Silo.Calls);
        RpcException? exhausted = null;
        for (var i = 0; i < 10 && exhausted is null; i++)
        {
            try
            {
                await segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant }, Bearer(key));
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                exhausted = ex;
            }
        }

        Assert.NotNull(exhausted);
        Assert.True(long.Parse(exhausted.Trailers.GetValue("grpc-retry-pushback-ms")!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Contains("rate limit", exhausted.Status.Detail);

        var limited = DateTime.UtcNow;
        while ((await SendAsync(HttpMethod.Get, path, key)).Status != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow - limited < TimeSpan.FromSeconds(retryAfter + 2), "still limited well after Retry-After");
            await Task.Delay(100);
        }

        // Another key is not slowed by this one.
        var (_, other) = await TenantKeyAsync(tenant, "read");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, path, other)).Status);
    }

    public static TheoryData<string> OddTenants => new() { "a/b", "shop%2Fx", "магазин-東京", "t " + new string('x', 254), "w%41" };

    [Theory]
    [MemberData(nameof(OddTenants))]
    public async Task Odd_tenant_ids_are_bound_exactly(string tenant)
    {
        var (_, key) = await TenantKeyAsync(tenant, "read", "ingest");
        var escaped = Uri.EscapeDataString(tenant);
        var ingest = await SendAsync(HttpMethod.Post, "/v1/events:ingest", key, IngestJson(tenant, "u-1"));
        Assert.True(ingest.Status == HttpStatusCode.OK, ingest.Body);

        foreach (var route in new[] { "/v1/tenants/{0}/users/u-1/profile", "/v1/tenants/{0}/users/u-1/document", "/v1/tenants/{0}/segments" })
        {
            var own = await SendAsync(HttpMethod.Get, string.Format(route, escaped), key);
            Assert.True(own.Status is HttpStatusCode.OK or HttpStatusCode.NotFound, $"{route} for its own tenant: {(int)own.Status} {own.Body}");

            // Near misses: the tenant escaped once more, decoded once more, without its last character, before its first '/'.
            var nearMisses = new[] { escaped, Uri.UnescapeDataString(tenant), tenant[..^1], tenant.Split('/')[0] }
                .Where(t => t != tenant).Distinct().Select(Uri.EscapeDataString);
            foreach (var near in nearMisses)
            {
                var refused = await SendAsync(HttpMethod.Get, string.Format(route, near), key);
                Assert.True(refused.Status == HttpStatusCode.Forbidden, $"{string.Format(route, near)}: {(int)refused.Status} {refused.Body}");
            }
        }

        // A dot segment resolved by the server names another tenant.
        var dotted = await SendAsync(HttpMethod.Get, $"/v1/tenants/{escaped}/../other/users/u-1/profile", key);
        Assert.NotEqual(HttpStatusCode.OK, dotted.Status);

        var gateway = new ProfileGateway.ProfileGatewayClient(Silo.Calls);
        var viaGrpc = await Assert.ThrowsAsync<RpcException>(() => gateway.GetProfileAsync(new GetProfileRequest { Tenant = escaped == tenant ? tenant + "x" : escaped, UserId = "u-1" }, Bearer(key)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, viaGrpc.StatusCode);
    }

    [Theory]
    [InlineData("/v1/tenants/{b}/users/bob/document#/../../../../{a}/users/alice/document")]
    [InlineData("/v1/tenants/{b}/users/bob/profile#/../../../../{a}/users/alice/profile")]
    [InlineData("/v1/tenants/{b}/users/bob/profile/../../../../{a}/users/alice/profile")]
    [InlineData("/v1/tenants/{b}/users/bob/document/%2E%2E/%2E%2E/%2E%2E/%2E%2E/{a}/users/alice/document")]
    public async Task A_path_with_dot_segments_acts_on_nobody_and_is_checked_against_the_tenant_it_routes_to(string pattern)
    {
        // The path routes (after its dot segments resolve, as Kestrel resolves them) to tenant A's alice; it must never
        // act on what a piece of the raw text names instead (tenant B's bob). The access check judges the routed tenant
        // (B's key: 403), and then the path is refused as ambiguous (A's key: 400, nothing of alice either).
        var (a, b) = (NewTenant("a"), NewTenant("b"));
        var (_, keyA) = await TenantKeyAsync(a, "read", "ingest");
        var (_, keyB) = await TenantKeyAsync(b, "read", "ingest");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/v1/events:ingest", keyA, IngestJson(a, "alice"))).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/v1/events:ingest", keyB, IngestJson(b, "bob"))).Status);
        await SegmentScenario.PollAsync(
            async () => (await SendAsync(HttpMethod.Get, $"/v1/tenants/{b}/users/bob/profile", keyB)).Status,
            status => status == HttpStatusCode.OK,
            "bob's profile in B");

        var target = pattern.Replace("{a}", a, StringComparison.Ordinal).Replace("{b}", b, StringComparison.Ordinal);
        var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, "GET", target, requestHeaders: [("Authorization", "Bearer " + keyA)]);
        Assert.True(status == HttpStatusCode.BadRequest && body.Contains("cannot be part of an API path", StringComparison.Ordinal) && !body.Contains("bob", StringComparison.Ordinal),
            $"GET {target} with the key of A: {(int)status} {body}");
        (status, body) = await RawHttp.SendAsync(Silo.HttpPort, "GET", target, requestHeaders: [("Authorization", "Bearer " + keyB)]);
        Assert.True(status == HttpStatusCode.Forbidden && !body.Contains("bob", StringComparison.Ordinal), $"GET {target} with the key of B: {(int)status} {body}");
    }

    [Fact]
    public async Task Bytes_that_are_not_UTF_8_after_a_hash_are_refused_like_any_other()
    {
        // '#' is a character of the path to Kestrel, so what follows it is routed, and must be checked as the rest is.
        var tenant = NewTenant();
        var (_, key) = await TenantKeyAsync(tenant, "read");
        var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, "GET", $"/v1/tenants/{tenant}/users/x#/../%C3/profile", requestHeaders: [("Authorization", "Bearer " + key)]);
        Assert.True(status == HttpStatusCode.BadRequest && body.Contains("not UTF-8", StringComparison.Ordinal), $"{(int)status} {body}");
    }

    [Theory]
    [InlineData("POST", "/v1/events:ingest", null)]
    [InlineData("GET", "/v1/tenants/{b}/users/u-1/profile", null)]
    [InlineData("GET", "/v1/tenants/{b}/users/u-1/document", "a")]
    public async Task A_REST_refusal_is_an_HTTP_error_whatever_the_content_type_says(string method, string path, string? keyOf)
    {
        // An HTTP/1.1 request to a REST route that says "application/grpc" is no gRPC call: its refusal must not be a
        // 200 with the status in a header a REST client never reads.
        var (a, b) = (NewTenant("a"), NewTenant("b"));
        var (_, key) = await TenantKeyAsync(a, "read", "ingest");
        var headers = new List<(string, string)> { ("Content-Type", "application/grpc"), ("Content-Length", "0") };
        if (keyOf is not null)
        {
            headers.Add(("Authorization", "Bearer " + key));
        }

        var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, method, path.Replace("{b}", b, StringComparison.Ordinal), requestHeaders: headers);
        Assert.True(status == (keyOf is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden), $"{method} {path}: {(int)status} '{body}'");
        Assert.Contains(keyOf is null ? "API key is required" : "is not bound to tenant", ErrorText(body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_no_one_made_are_refused_without_leaving_a_grain_each()
    {
        // Refusals need no rate limit (there is no key to charge), so each must cost next to nothing: an unknown id, one
        // per request in a flood, is refused by the key directory from memory, without activating (and reading the
        // storage row of) a key grain that the collector would find minutes later.
        async Task<int> KeyGrainsAsync()
        {
            var (_, text, _) = await SendAsync(HttpMethod.Get, "/v1/admin/cluster", fixture.OperatorKey);
            return JsonDocument.Parse(text).RootElement.GetProperty("activations").TryGetProperty("ApiKeyGrain", out var count) ? count.GetInt32() : 0;
        }

        var before = await KeyGrainsAsync();
        var random = new Random(3);
        var path = $"/v1/tenants/{NewTenant()}/segments";
        for (var batch = 0; batch < 10; batch++)
        {
            var refusals = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ =>
                SendAsync(HttpMethod.Get, path, $"pgk_{Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64()))}_{new string('x', 43)}")));
            Assert.All(refusals, r => Assert.Equal(HttpStatusCode.Unauthorized, r.Status));
        }

        var after = await KeyGrainsAsync();
        Assert.True(after <= before, $"{after - before} more key grains right after 500 unknown keys");
    }

    [Fact]
    public async Task The_cli_creates_lists_and_revokes_keys()
    {
        var tenant = NewTenant();
        var grid = $"http://127.0.0.1:{Silo.HttpPort}";
        var (exit, output) = Run("keys", "create", "--grid", grid, "--key-file", fixture.KeyFile, "--name", "cli app", "--scopes", "read,ingest", "--tenant", tenant);
        Assert.True(exit == 0, output);
        var secret = Regex.Match(output, @"pgk_[0-9a-f]{16}_[A-Za-z0-9_-]+").Value;
        Assert.NotEmpty(secret);
        var id = secret[4..20];
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/segments", secret)).Status);

        (exit, output) = Run("keys", "list", "--grid", grid, "--key", fixture.OperatorKey);
        Assert.True(exit == 0, output);
        Assert.Contains(id, output);
        Assert.Contains("cli app", output);
        Assert.Contains(tenant, output);
        Assert.DoesNotContain(secret, output);

        (exit, output) = Run("keys", "revoke", id, "--grid", grid, "--key-file", fixture.KeyFile);
        Assert.True(exit == 0, output);
        Assert.Contains("revoked", output);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, $"/v1/tenants/{tenant}/segments", secret)).Status);

        // Without an operator key the CLI is refused with the grid's words.
        (exit, output) = Run("keys", "list", "--grid", grid, "--key", secret);
        Assert.NotEqual(0, exit);
        Assert.Contains("401", output);
    }

    [Fact]
    public void The_cli_import_sends_its_key()
    {
        var tenant = NewTenant("ml");
        var folder = Directory.CreateTempSubdirectory("profilegrid-keys-import-");
        try
        {
            var ratings = Path.Combine(folder.FullName, "u.data");
            File.WriteAllText(ratings, "1\t10\t4\t874965758\n2\t11\t5\t874965759\n");
            var grid = $"http://127.0.0.1:{Silo.GrpcPort}";
            var (exit, output) = Run("import", "--grid", grid, "--tenant", tenant, "--ratings", ratings);
            Assert.NotEqual(0, exit);
            Assert.Contains("Unauthenticated", output);

            (exit, output) = Run("import", "--grid", grid, "--tenant", tenant, "--ratings", ratings, "--key-file", fixture.KeyFile);
            Assert.True(exit == 0, output);
            Assert.Contains("2 acknowledged", output);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public void An_import_refused_for_its_key_says_to_give_a_key_not_to_run_it_again()
    {
        var folder = Directory.CreateTempSubdirectory("profilegrid-keys-import-events-");
        try
        {
            var file = Path.Combine(folder.FullName, "orders.csv");
            File.WriteAllText(file, "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n536365,85123A,HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\n");
            var (exit, output) = Run("import-events", "--grid", $"http://127.0.0.1:{Silo.GrpcPort}", "--tenant", NewTenant("csv"), "--file", file,
                "--mapping", Path.Combine(BulkImportTests.Examples, "online-retail.json"), "--key", "pgk_0000000000000000_not-a-key");
            Assert.NotEqual(0, exit);
            Assert.Contains("Unauthenticated", output);
            Assert.Contains("give a valid API key", output);
            Assert.DoesNotContain("run the same command again", output);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static (int Exit, string Output) Run(params string[] args)
    {
        var console = new TestConsole { Profile = { Width = 250 } };
        using var output = new StringWriter();
        var exit = CliApp.Run(args, console, output, output);
        return (exit, console.Output + output);
    }
}

/// <summary>Keys on Azure Table storage (Azurite): only hashes are stored, the bootstrap key file is reused, revocation reaches other silos.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class KeyStorageTests(AzuriteFixture azurite)
{
    private static async Task<HttpStatusCode> GetAsync(SiloProcess silo, string path, string key, HttpMethod? method = null)
    {
        using var request = new HttpRequestMessage(method ?? HttpMethod.Get, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        using var response = await silo.Http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_key_revoked_on_one_silo_is_refused_by_another_within_CacheFor()
    {
        var folder = Directory.CreateTempSubdirectory("profilegrid-keys-");
        try
        {
            var cacheFor = TimeSpan.FromSeconds(3);
            var serviceId = "keys" + Guid.NewGuid().ToString("N")[..8];
            var keyFile = Path.Combine(folder.FullName, "admin.key");
            string[] settings =
            [
                "--ProfileGrid:Clustering=AzureTable", "--ProfileGrid:ClusterId=" + serviceId, "--ProfileGrid:Endpoints:AdvertisedAddress=127.0.0.1",
                $"--ProfileGrid:Auth:BootstrapKeyFile={keyFile}", $"--ProfileGrid:Auth:CacheFor={cacheFor}",
            ];
            await using var first = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);
            await using var second = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);
            var operatorKey = File.ReadAllText(keyFile).Trim();

            using var create = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/keys")
            {
                Content = JsonContent.Create(new { name = "two silos", scopes = new[] { "read" }, tenants = new[] { "shop" } }),
            };
            create.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", operatorKey);
            using var created = await first.Http.SendAsync(create);
            var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
            var (id, key) = (body.GetProperty("key").GetProperty("id").GetString()!, body.GetProperty("secret").GetString()!);

            // The second silo checks the key now, and trusts it for CacheFor from here.
            Assert.Equal(HttpStatusCode.OK, await GetAsync(second, "/v1/tenants/shop/segments", key));
            Assert.Equal(HttpStatusCode.OK, await GetAsync(first, $"/v1/admin/keys/{id}/revoke", operatorKey, HttpMethod.Post));
            var revokedAt = DateTime.UtcNow;
            Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(first, "/v1/tenants/shop/segments", key));
            while (await GetAsync(second, "/v1/tenants/shop/segments", key) != HttpStatusCode.Unauthorized)
            {
                Assert.True(DateTime.UtcNow - revokedAt < cacheFor + TimeSpan.FromSeconds(2), "the other silo still accepted the revoked key after CacheFor");
                await Task.Delay(100);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Keys_are_hashed_at_rest_and_the_bootstrap_file_is_reused_after_a_restart()
    {
        var folder = Directory.CreateTempSubdirectory("profilegrid-keys-");
        try
        {
            var keyFile = Path.Combine(folder.FullName, "admin.key");
            var serviceId = "keys" + Guid.NewGuid().ToString("N")[..8];
            string[] settings = [$"--ProfileGrid:Auth:BootstrapKeyFile={keyFile}", "--ProfileGrid:IngestPath=Log"];
            string secret;
            await using (var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings))
            {
                var operatorKey = File.ReadAllText(keyFile).Trim();
                if (!OperatingSystem.IsWindows())
                {
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
                }

                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/keys")
                {
                    Content = JsonContent.Create(new { name = "stored", scopes = new[] { "read" }, tenants = new[] { "shop" } }),
                };
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", operatorKey);
                using var response = await silo.Http.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.Created, body);
                secret = JsonDocument.Parse(body).RootElement.GetProperty("secret").GetString()!;

                // Every entity of every table: neither key's secret part is there; the hash of the new key is.
                var tables = new TableServiceClient(azurite.ConnectionString);
                var everything = new StringBuilder();
                await foreach (var table in tables.QueryAsync())
                {
                    await foreach (var entity in tables.GetTableClient(table.Name).QueryAsync<TableEntity>())
                    {
                        foreach (var (_, value) in entity)
                        {
                            // State may be stored as text or as bytes (Orleans' binary format keeps strings as UTF-8).
                            everything.Append(value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : value).Append('\n');
                        }
                    }
                }

                var text = everything.ToString();
                Assert.Contains(Access.ApiKeyText.Hash(secret), text);
                foreach (var key in new[] { secret, operatorKey })
                {
                    Assert.DoesNotContain(key[21..], text);
                }

                await silo.StopAsync();
            }

            // Restarted with the same file: the same operator key works, and so does the key created before.
            await using var again = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);
            foreach (var key in new[] { File.ReadAllText(keyFile).Trim(), secret })
            {
                using var read = new HttpRequestMessage(HttpMethod.Get, "/v1/tenants/shop/segments");
                read.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
                using var answer = await again.Http.SendAsync(read);
                Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
