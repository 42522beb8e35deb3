using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Bad input as a client sends it to the real host, over gRPC, REST and raw HTTP paths: what is refused, how the
/// refusal names the field, and that the rest of a batch still counts.
/// </summary>
[Collection(EphemeralSiloCollection.Name)]
public class GatewayBadInputTests(EphemeralSiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    private static string NewId() => Guid.NewGuid().ToString("N")[..10];

    private static string Recently() => DateTimeOffset.UtcNow.AddMinutes(-10).ToString("O");

    private static WireEvent PageView(string user, string id, string tenant = "") => new()
    {
        EventId = id, Type = "page_view", UserId = user, Tenant = tenant, OccurredAt = Recently(), Source = "web", Page = new PageView { Url = "/" },
    };

    private async Task<Profile> WaitForProfileAsync(string tenant, string user, Func<Profile, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                var profile = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = user });
                if (condition(profile))
                {
                    return profile;
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"The profile of {user} in {tenant} did not reach the expected state.");
            await Task.Delay(50);
        }
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostIngestAsync(string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await Silo.Http.PostAsync("/v1/events:ingest", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("Parameter '", text);
        Assert.DoesNotContain("Exception", text);
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    [Fact]
    public async Task Events_missing_a_required_field_are_rejected_by_name_and_the_rest_is_applied()
    {
        var user = "u-" + NewId();
        WireEvent Typed(string id, string type, Action<WireEvent> fill)
        {
            var e = PageView(user, id);
            e.Type = type;
            e.Page = null;
            fill(e);
            return e;
        }

        var request = new IngestEventsRequest
        {
            Tenant = "shop",
            Events =
            {
                PageView(user, "ok-1"),
                new WireEvent(PageView(user, "no-source")) { Source = "" },
                Typed("cart-no-price", "add_to_cart", e => e.Product = new ProductAction { ProductId = "p-1", Category = "shoes" }),
                Typed("remove-no-category", "remove_from_cart", e => e.Product = new ProductAction { ProductId = "p-1" }),
                Typed("pref-no-value", "preference_set", e => e.Preference = new PreferenceSet { Key = "newsletter" }),
                Typed("ok-2", "add_to_cart", e => e.Product = new ProductAction { ProductId = "p-1", UnitPrice = "9.50", Currency = "EUR" }),
            },
        };

        var response = await Silo.Client.IngestEventsAsync(request);

        Assert.Equal(
            [(1, "events[1].source"), (2, "events[2].product.unit_price"), (3, "events[3].product.category"), (4, "events[4].preference.value")],
            response.Rejected.Select(r => (r.Index, r.Field)).ToArray());
        Assert.Equal(2, response.Accepted);
        var profile = await WaitForProfileAsync("shop", user, p => p.EventsApplied == 2);
        Assert.Equal(1, profile.Behavior.CartAdds);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("{\"tenant\": \"shop\"}")]
    [InlineData("{\"tenant\": \"shop\", \"events\": []}")]
    [InlineData("{\"tenant\": \"shop\", \"events\": null}")]
    public async Task A_rest_body_without_events_is_refused_naming_events(string json)
    {
        var (status, body) = await PostIngestAsync(json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal((int)StatusCode.InvalidArgument, body.GetProperty("code").GetInt32());
        Assert.StartsWith("events:", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_post_with_no_body_and_no_content_type_is_read_as_an_empty_object()
    {
        // An outside probe: "POST .../experiments/x:start" as curl sends it without -d got "content type '' is not a known
        // JSON content type". Such a request is now the empty object: the ingest route then names its missing events.
        var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, "POST", "/v1/events:ingest");
        Assert.True(status == HttpStatusCode.BadRequest, $"{status}: {body}");
        Assert.StartsWith("events:", JsonDocument.Parse(body).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var empty = await Silo.Http.PostAsync("/v1/tenants/shop/recommender:train", null);
        var text = await empty.Content.ReadAsStringAsync();
        Assert.DoesNotContain("content type", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_grpc_request_without_events_is_refused_naming_events()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("events: is required", error.Status.Detail);
    }

    [Theory]
    [InlineData("\"quantity\": \"abc\", \"unitPrice\": \"1.00\"", "events[1].purchase.lines[0].quantity: expected a number")]
    [InlineData("\"quantity\": \"2\", \"unitPrice\": \"1.00\"", "events[1].purchase.lines[0].quantity: expected a number")]
    [InlineData("\"quantity\": 2, \"unitPrice\": 1.5", "events[1].purchase.lines[0].unit_price: expected a string")]
    [InlineData("\"quantity\": {}, \"unitPrice\": \"1.00\"", "events[1].purchase.lines[0].quantity: expected a number")]
    public async Task A_json_value_of_the_wrong_type_rejects_its_event_naming_the_field_and_the_rest_is_accepted(string line, string expected)
    {
        var user = "u-" + NewId();
        var json = $$$"""
            {"tenant": "shop", "events": [
              {"eventId": "v1", "type": "page_view", "userId": "{{{user}}}", "occurredAt": "{{{Recently()}}}", "source": "web"},
              {"eventId": "p1", "type": "purchase", "userId": "{{{user}}}", "occurredAt": "{{{Recently()}}}", "source": "web",
               "purchase": {"orderId": "o1", "currency": "EUR", "lines": [{"productId": "p", "category": "c", {{{line}}}}]}}]}
            """;

        var (status, body) = await PostIngestAsync(json);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        var rejected = Assert.Single(body.GetProperty("rejected").EnumerateArray());
        Assert.Equal(1, rejected.GetProperty("index").GetInt32());
        Assert.Equal("p1", rejected.GetProperty("eventId").GetString());
        Assert.StartsWith(expected, $"{rejected.GetProperty("field").GetString()}: {rejected.GetProperty("reason").GetString()}");
        var profile = await SegmentScenario.PollAsync(
            async () => (await Silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = "shop", UserIds = { user } })).Profiles.FirstOrDefault(),
            p => p is not null,
            $"the profile of {user}");
        Assert.Equal(1, profile!.EventsApplied); // the page view; the purchase was refused
    }

    [Fact]
    public async Task A_quantity_written_1e3_is_1000_units_as_proto3_json_reads_it_and_1_5_or_1e400_rejects_its_event_by_field()
    {
        // proto3 JSON reads exponent notation into integer fields; 1e3 and 1000.0 were refused as "expected a number".
        var user = "u-" + NewId();
        string Purchase(string id, string quantity) => $$$"""
            {"eventId": "{{{id}}}", "type": "purchase", "userId": "{{{user}}}", "occurredAt": "{{{Recently()}}}", "source": "web",
             "purchase": {"orderId": "{{{id}}}", "currency": "EUR", "lines": [{"productId": "p", "category": "c", "quantity": {{{quantity}}}, "unitPrice": "1.00"}]}}
            """;
        var json = $$"""{"tenant": "shop", "events": [{{Purchase("q1", "1e3")}}, {{Purchase("q2", "1000.0")}}, {{Purchase("q3", "1.5")}}, {{Purchase("q4", "1e400")}}, {{Purchase("q5", "2E0")}}]}""";

        var (status, body) = await PostIngestAsync(json);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(3, body.GetProperty("accepted").GetInt32());
        Assert.Equal(
            new[]
            {
                (2, "q3", "events[2].purchase.lines[0].quantity: expected a number (a whole number in range), got the number 1.5"),
                (3, "q4", "events[3].purchase.lines[0].quantity: expected a number (a whole number in range), got the number 1e400"),
            },
            body.GetProperty("rejected").EnumerateArray().Select(r =>
                (r.GetProperty("index").GetInt32(), r.GetProperty("eventId").GetString()!, $"{r.GetProperty("field").GetString()}: {r.GetProperty("reason").GetString()}")));
        var profile = await WaitForProfileAsync("shop", user, p => p.EventsApplied == 3);
        Assert.Equal(3, profile.Behavior.Orders);
        Assert.Equal("2002.00", profile.Behavior.MonetaryByCurrency.Single(m => m.Currency == "EUR").Amount);
    }

    [Fact]
    public async Task An_event_that_is_not_an_object_is_rejected_alone()
    {
        var user = "u-" + NewId();
        var (status, body) = await PostIngestAsync($$$"""
            {"tenant": "shop", "events": [7, {"eventId": "v1", "type": "page_view", "userId": "{{{user}}}", "occurredAt": "{{{Recently()}}}", "source": "web"}]}
            """);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        var rejected = Assert.Single(body.GetProperty("rejected").EnumerateArray());
        Assert.Equal("events[0]", rejected.GetProperty("field").GetString());
        Assert.Contains("expected an object, got the number 7", rejected.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Wrong_types_are_named_on_every_transcoded_body()
    {
        using var content = new StringContent("{\"preference\": {\"key\": \"k\", \"value\": \"v\", \"emailOptIn\": \"yes\"}}", Encoding.UTF8, "application/json");
        using var response = await Silo.Http.PutAsync($"/v1/tenants/shop/users/u-{NewId()}/preferences", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("preference.email_opt_in: expected true or false", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_preference_without_a_value_is_refused_and_only_an_empty_value_removes_it()
    {
        // An outside probe (probe45): {"preference": {"key": "k"}} answered 200 and deleted the stored "k", so a missing
        // or misspelt value ("valeu", ignored as an unknown field) erased what the user had chosen.
        var path = $"/v1/tenants/shop/users/u-{NewId()}/preferences";
        async Task<(HttpStatusCode Status, string Body)> PutAsync(string json)
        {
            using var content = new StringContent(json, Encoding.UTF8, "application/json");
            using var response = await Silo.Http.PutAsync(path, content);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(HttpStatusCode.OK, (await PutAsync("{\"preference\": {\"key\": \"newsletter\", \"value\": \"weekly\"}}")).Status);
        foreach (var (json, expected) in new[]
        {
            ("{\"preference\": {\"key\": \"newsletter\"}}", "preference.value: is required when a key is set; send \"value\": \"\" to remove the preference"),
            ("{\"preference\": {\"key\": \"newsletter\", \"valeu\": \"daily\"}}", "preference.valeu: is not a field here"),
        })
        {
            var (status, body) = await PutAsync(json);
            Assert.True(status == HttpStatusCode.BadRequest, $"{json}: {status} {body}");
            Assert.StartsWith(expected, JsonDocument.Parse(body).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var (kept, keptBody) = await PutAsync("{\"preference\": {\"emailOptIn\": true}}");
        Assert.True(kept == HttpStatusCode.OK && keptBody.Replace(" ", "", StringComparison.Ordinal).Contains("\"newsletter\":\"weekly\"", StringComparison.Ordinal), keptBody);
        var (removed, removedBody) = await PutAsync("{\"preference\": {\"key\": \"newsletter\", \"value\": \"\"}}");
        Assert.True(removed == HttpStatusCode.OK && !removedBody.Contains("newsletter", StringComparison.Ordinal), removedBody);
    }

    [Theory]
    [InlineData("iso-8859-1")]
    [InlineData("utf-16")]
    [InlineData("\"latin1\"")]
    public async Task A_json_body_labelled_with_another_charset_is_refused_and_no_user_is_made(string charset)
    {
        // probe68: a UTF-8 body labelled charset=iso-8859-1 was transcoded as labelled, and user "café" became "cafÃ©",
        // acknowledged without a word.
        var tenant = "cs-" + NewId();
        var body = "{\"tenant\": \"" + tenant + "\", \"events\": [{\"eventId\": \"e1\", \"type\": \"page_view\", \"userId\": \"café\", "
            + "\"occurredAt\": \"2026-11-28T09:00:00Z\", \"source\": \"web\", \"page\": {\"url\": \"/\"}}]}";
        using var labelled = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        labelled.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse($"application/json; charset={charset}");
        using var refused = await Silo.Http.PostAsync("/v1/events:ingest", labelled);
        var refusal = await refused.Content.ReadAsStringAsync();
        Assert.True(refused.StatusCode == HttpStatusCode.UnsupportedMediaType, $"{refused.StatusCode} {refusal}");
        Assert.StartsWith($"Content-Type: charset '{charset.Trim('"')}' is not accepted; JSON is UTF-8", JsonDocument.Parse(refusal).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);

        // Labelled UTF-8 (any spelling, quoted or not), it is taken as sent: the user is "café".
        foreach (var spelling in new[] { "utf8", "\"utf-8\"" })
        {
            using var utf8 = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            utf8.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse($"application/json; charset={spelling}");
            using var accepted = await Silo.Http.PostAsync("/v1/events:ingest", utf8);
            Assert.True(accepted.IsSuccessStatusCode, spelling + ": " + await accepted.Content.ReadAsStringAsync());
        }

        var listed = await SegmentScenario.PollAsync(
            () => Silo.Http.GetStringAsync($"/v1/tenants/{tenant}/profiles"),
            page => page.Contains("\"userId\"", StringComparison.Ordinal),
            "the user listed",
            TimeSpan.FromSeconds(30));
        Assert.Equal(["café"], JsonDocument.Parse(listed).RootElement.GetProperty("profiles").EnumerateArray().Select(p => p.GetProperty("userId").GetString()));
    }

    [Fact]
    public async Task A_compressed_body_is_refused_as_compressed_and_a_misspelt_attribute_field_is_named()
    {
        // An outside probe (probe45): a gzip body was answered "the body is not UTF-8 (byte 2 ...)", and
        // PUT attributes {"bogus": 1} answered 200 and changed nothing.
        var json = Encoding.UTF8.GetBytes("{\"tenant\": \"shop\", \"events\": []}");
        using var zipped = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(zipped, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(json);
        }

        using var compressed = new ByteArrayContent(zipped.ToArray());
        compressed.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        compressed.Headers.ContentEncoding.Add("gzip");
        using var refused = await Silo.Http.PostAsync("/v1/events:ingest", compressed);
        var refusal = await refused.Content.ReadAsStringAsync();
        Assert.True(refused.StatusCode == HttpStatusCode.UnsupportedMediaType, $"{refused.StatusCode} {refusal}");
        Assert.StartsWith("Content-Encoding: 'gzip' is not accepted", JsonDocument.Parse(refusal).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var misspelt = new StringContent("{\"demographcs\": {\"country\": \"DE\"}}", Encoding.UTF8, "application/json");
        using var attributes = await Silo.Http.PutAsync($"/v1/tenants/shop/users/u-{NewId()}/attributes", misspelt);
        var answer = await attributes.Content.ReadAsStringAsync();
        Assert.True(attributes.StatusCode == HttpStatusCode.BadRequest && answer.Contains("demographcs: is not a field here", StringComparison.Ordinal), $"{attributes.StatusCode} {answer}");
    }

    [Fact]
    public async Task Malformed_json_gets_400_saying_where()
    {
        var (status, body) = await PostIngestAsync("{\"tenant\": \"shop\", \"events\": [ {\"eventId\": ");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var message = body.GetProperty("message").GetString();
        Assert.StartsWith("Request JSON payload is not correctly formatted", message);
        Assert.Contains("(line 1, byte", message);
    }

    [Theory]
    [InlineData("", "Request JSON payload is not correctly formatted: the body is empty")]
    [InlineData("null", "(request body): expected an object, got null")]
    [InlineData("[{\"tenant\": \"shop\"}]", "(request body): expected an object, got an array")]
    [InlineData("{\"tenant\": \"shop\", \"events\": [], \"events\": []}", "Request JSON payload is not correctly formatted: a property appears twice")]
    [InlineData("{\"tenant\": \"shop\", \"events\": {}}", "events: expected an array, got an object")]
    public async Task Unusable_bodies_get_400_with_a_reason_and_no_exception_text(string json, string expected)
    {
        var (status, body) = await PostIngestAsync(json);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith(expected, body.GetProperty("message").GetString());
    }

    /// <summary>
    /// With Expect: 100-continue (curl's way for large bodies) the refusal comes before the upload. Without it (HttpClient,
    /// requests, fetch) the whole body is on its way before any answer is read: the grid reads and drops it, so the client
    /// gets the 400 rather than a connection reset under its write, whether it said the length up front or sends the body
    /// in chunks (a stream of unknown length). Three times each, as the reset was a race.
    /// </summary>
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public async Task An_oversized_rest_body_is_refused_with_the_limit_whether_or_not_the_client_waits_to_send_it(bool expectContinue, bool chunked)
    {
        var json = Encoding.UTF8.GetBytes("{\"tenant\": \"" + new string('x', 5 * 1024 * 1024) + "\"}");
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events:ingest")
            {
                Content = chunked ? new UnknownLengthContent(json) : new ByteArrayContent(json),
            };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json", "utf-8");
            request.Headers.ExpectContinue = expectContinue;
            using var response = await Silo.Http.SendAsync(request);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.StartsWith("Request body too large", body.GetProperty("message").GetString());
            Assert.Equal(chunked, request.Headers.TransferEncodingChunked == true);
        }
    }

    /// <summary>
    /// A sender that writes its whole chunked body before reading anything (Python's http.client with a generator): 40 MB,
    /// ten times the limit. Kestrel's own limit ended the read at 4 MB and closed the connection under the write (a broken
    /// pipe, no answer); the grid reads the rest and drops it, then answers.
    /// </summary>
    [Fact]
    public async Task A_large_chunked_body_from_a_sender_that_reads_only_after_writing_gets_the_400()
    {
        using var sending = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // a server that stops reading fails the test
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, Silo.HttpPort, sending.Token);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /v1/events:ingest HTTP/1.1\r\nHost: 127.0.0.1:{Silo.HttpPort}\r\nConnection: close\r\n" +
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"), sending.Token);
        var piece = Encoding.ASCII.GetBytes(new string('x', 64 * 1024));
        var framed = Encoding.ASCII.GetBytes($"{piece.Length:x}\r\n").Concat(piece).Concat("\r\n"u8.ToArray()).ToArray();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("d\r\n{\"tenant\": \"x\r\n"), sending.Token);
        for (var i = 0; i < 640; i++)
        {
            await stream.WriteAsync(framed, sending.Token); // an IOException here is the reset
        }

        await stream.WriteAsync(Encoding.ASCII.GetBytes("2\r\n\"}\r\n0\r\n\r\n"), sending.Token);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var (headers, content, raw) = await RawHttp.ReadAnswerAsync(stream, timeout.Token);

        Assert.StartsWith("HTTP/1.1 400", headers, StringComparison.Ordinal);
        Assert.Contains("Request body too large. The max request body size is 4194304 bytes.", Encoding.UTF8.GetString(content), StringComparison.Ordinal);
    }

    /// <summary>A body sent without Content-Length (chunked), as a client streaming from a file or a generator sends it.</summary>
    private sealed class UnknownLengthContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task A_null_event_is_rejected_alone_and_the_rest_is_accepted()
    {
        var user = "u-" + NewId();
        var json = $$"""
            {"tenant": "shop", "events": [
              {"eventId": "n1", "type": "page_view", "userId": "{{user}}", "occurredAt": "{{Recently()}}", "source": "web"},
              null,
              {"eventId": "n2", "type": "page_view", "userId": "{{user}}", "occurredAt": "{{Recently()}}", "source": "app"}]}
            """;

        var (status, body) = await PostIngestAsync(json);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(2, body.GetProperty("accepted").GetInt32());
        var rejected = Assert.Single(body.GetProperty("rejected").EnumerateArray());
        Assert.Equal(1, rejected.GetProperty("index").GetInt32());
        Assert.Equal("events[1]", rejected.GetProperty("field").GetString());
        Assert.Contains("null", rejected.GetProperty("reason").GetString());
        await WaitForProfileAsync("shop", user, p => p.EventsApplied == 2);

        var (onlyNull, onlyNullBody) = await PostIngestAsync("{\"tenant\": \"shop\", \"events\": [null]}");
        Assert.Equal(HttpStatusCode.OK, onlyNull);
        Assert.Equal(0, onlyNullBody.GetProperty("accepted").GetInt32());
        Assert.Equal("events[0]", onlyNullBody.GetProperty("rejected")[0].GetProperty("field").GetString());
    }

    [Fact]
    public async Task A_string_cut_inside_an_emoji_rejects_its_event_by_name_and_the_rest_is_accepted()
    {
        // JSON.stringify of "ab😀".substring(0, 3) is "ab\ud83d": valid JSON escapes, half a surrogate pair.
        var user = "u-" + NewId();
        var json = $$"""
            {"tenant": "shop", "events": [
              {"eventId": "s1", "type": "page_view", "userId": "{{user}}", "occurredAt": "{{Recently()}}", "source": "web"},
              {"eventId": "s2", "type": "search", "userId": "{{user}}", "occurredAt": "{{Recently()}}", "source": "web", "search": {"query": "ab\ud83d"} },
              {"eventId": "s3", "type": "page_view", "userId": "{{user}}", "occurredAt": "{{Recently()}}", "source": "web", "context": {"userAgent": "\udc00x"} },
              {"eventId": "s4", "type": "search", "userId": "{{user}}", "occurredAt": "{{Recently()}}", "source": "web", "search": {"query": "ok \ud83d\ude00"} }]}
            """;

        var (status, body) = await PostIngestAsync(json);

        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.Equal(2, body.GetProperty("accepted").GetInt32());
        var rejected = body.GetProperty("rejected").EnumerateArray().Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("field").GetString())).ToList();
        Assert.Equal([(1, "events[1].search.query"), (2, "events[2].context.user_agent")], rejected);
        // The reject names the event by its id, as a validation reject does.
        Assert.Equal(["s2", "s3"], body.GetProperty("rejected").EnumerateArray().Select(r => r.GetProperty("eventId").GetString()));
        Assert.Contains("surrogate", body.GetProperty("rejected")[0].GetProperty("reason").GetString());
        var profile = await WaitForProfileAsync("shop", user, p => p.EventsApplied == 2);
        Assert.Equal(1, profile.Behavior.EventCounts["search"]);

        // Outside the events, the request itself is refused by name.
        var (whole, wholeBody) = await PostIngestAsync($$"""{"tenant": "sh\ud800op", "events": [{"eventId": "s5", "type": "page_view", "userId": "{{user}}", "occurredAt": "{{Recently()}}", "source": "web"}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, whole);
        Assert.Contains("tenant", wholeBody.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("/v1/events:ingest", "POST", "{\"tenant\": \"shop\", \"events\": [{\"eventId\": \"x1\", \"type\": \"page_view\", \"userId\": \"u-\uFFFD\", \"occurredAt\": \"2026-01-01T00:00:00Z\", \"source\": \"web\", \"rating\": 1.5}]}")]
    [InlineData("/v1/tenants/shop/users/u1/preferences", "PUT", "{\"preference\": {\"key\": \"k\", \"value\": \"v\", \"emailOptIn\": \"\uFFFD\"}}")]
    [InlineData("/v1/tenants/shop/profiles:batchGet", "POST", "{\"userIds\": [\"a\"], \"unknown\": \"\uFFFD\", \"asOf\": 1e3}")]
    [InlineData("/v1/tenants/shop/recommendation-rules", "POST", "{\"id\": \"\uFFFD\", \"action\": {\"type\": \"exclude\", \"items\": [\"i\"]}}")]
    public async Task A_body_that_is_not_utf8_is_refused_with_400_saying_so_not_500(string path, string method, string json)
    {
        // Found by ApiFuzzTests: a byte that is no UTF-8 inside a JSON string (0xFF here, where the text holds U+FFFD) was
        // read lazily and failed later, as an Internal error (500), wherever a check or a rewrite touched the string.
        var bytes = Encoding.UTF8.GetBytes(json);
        var marker = Encoding.UTF8.GetBytes("\uFFFD");
        var at = bytes.AsSpan().IndexOf(marker);
        bytes = [.. bytes[..at], 0xFF, .. bytes[(at + marker.Length)..]];
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await Silo.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        var message = JsonDocument.Parse(text).RootElement.GetProperty("message").GetString();
        Assert.Equal($"Request JSON payload is not correctly formatted: the body is not UTF-8 (byte {at + 1} is no UTF-8 sequence); send JSON as UTF-8.", message);
    }

    [Theory]
    [InlineData("/v1/tenants/shop/users/u1/preferences", "PUT", "{\"preference\": \"\\ud800\"}", "preference: expected an object, got a string that is not valid Unicode")]
    [InlineData("/v1/tenants/shop/recommendation-rules", "POST", "{\"id\": \"r\", \"action\": {\"type\": \"boost\", \"factor\": \"ab\\ud83d\"}}", "rule.action.factor: expected a number, got a string that is not valid Unicode")]
    [InlineData("/v1/tenants/shop/items:upsert", "POST", "{\"items\": [\"\\udfff\"]}", "items[0]: expected an object, got a string that is not valid Unicode")]
    public async Task Half_a_surrogate_pair_where_no_string_belongs_is_refused_by_field_not_500(string path, string method, string json, string expected)
    {
        // Found by ApiFuzzTests: describing the wrong value wrote it back as JSON, which cannot hold half a surrogate pair;
        // the request got an Internal error (500) instead of the field.
        var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, method, path, json);

        Assert.True(status == HttpStatusCode.BadRequest, $"{status}: {body}");
        Assert.StartsWith(expected, JsonDocument.Parse(body).RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Half_a_surrogate_pair_in_a_field_of_the_wrong_type_rejects_its_event_alone()
    {
        var user = "u-" + NewId();
        var (status, body) = await PostIngestAsync($$"""
            {"tenant": "shop", "events": [
              {"eventId": "h1", "type": "rating", "userId": "{{user}}", "occurredAt": "{{Recently()}}", "source": "web", "rating": "ab\ud83d"},
              {"eventId": "h2", "type": "page_view", "userId": "{{user}}", "occurredAt": "{{Recently()}}", "source": "web"}]}
            """);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        var rejected = Assert.Single(body.GetProperty("rejected").EnumerateArray());
        Assert.Equal("events[0].rating", rejected.GetProperty("field").GetString());
        await WaitForProfileAsync("shop", user, p => p.EventsApplied == 1);
    }

    [Theory]
    [InlineData("99999999999", "segment_id: expected a number (a whole number in range) in the path, got '99999999999'")]
    [InlineData("0NaN", "segment_id: expected a number (a whole number in range) in the path, got '0NaN'")]
    [InlineData("%D7%A9", "segment_id: expected a number (a whole number in range) in the path, got '\u05E9'")]
    public async Task A_path_number_that_is_not_one_is_refused_naming_the_field(string segment, string expected)
    {
        // Found by ApiFuzzTests: the answer was .NET's parse message ("Value was either too large or too small for an
        // Int32.", "The input string '0NaN' was not in a correct format."), naming neither the field nor the value.
        var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, "GET", $"/v1/tenants/shop/segments/{segment}/members");

        Assert.True(status == HttpStatusCode.BadRequest, $"{status}: {body}");
        Assert.Equal(expected, JsonDocument.Parse(body).RootElement.GetProperty("message").GetString());
    }

    [Theory]
    // probe60: the ingest route answered 404 "not a route" to other methods, where every other route says 405 and what it takes.
    [InlineData("DELETE", "/v1/events:ingest", null, null, HttpStatusCode.MethodNotAllowed, "method: DELETE is not allowed on /v1/events:ingest; it takes POST")]
    [InlineData("GET", "/v1/events:ingest", null, null, HttpStatusCode.MethodNotAllowed, "method: GET is not allowed on /v1/events:ingest; it takes POST")]
    [InlineData("PATCH", "/v1/events:ingest", "{}", "application/json", HttpStatusCode.MethodNotAllowed, "method: PATCH is not allowed on /v1/events:ingest; it takes POST")]
    [InlineData("GET", "/v1/tenants/shop/segments:run", null, null, HttpStatusCode.MethodNotAllowed, "method: GET is not allowed on /v1/tenants/shop/segments:run; it takes POST")]
    [InlineData("GET", "/v1/tenants/shop/items:upsert", null, null, HttpStatusCode.MethodNotAllowed, "method: GET is not allowed on /v1/tenants/shop/items:upsert; it takes POST")]
    [InlineData("GET", "/v1/nothing", null, null, HttpStatusCode.NotFound, "path: GET /v1/nothing is not a route of this API")]
    [InlineData("GET", "/v1/tenants/../users/u/profile", null, null, HttpStatusCode.BadRequest, "path: a '.' or '..' segment (also as %2E) cannot be part of an API path")]
    // An outside probe: "/users/%2E/profile" reached "/users/profile", whose 405 said "it takes DELETE" (of a user named "profile").
    [InlineData("GET", "/v1/tenants/shop/users/%2E/profile", null, null, HttpStatusCode.BadRequest, "path: a '.' or '..' segment (also as %2E) cannot be part of an API path: it is resolved before routing, so this GET would reach /v1/tenants/shop/users/profile")]
    [InlineData("GET", "/v1/tenants/shop/users/./profile", null, null, HttpStatusCode.BadRequest, "path: a '.' or '..' segment (also as %2E) cannot be part of an API path")]
    [InlineData("PATCH", "/v1/tenants/shop/stats", null, null, HttpStatusCode.MethodNotAllowed, "method: PATCH is not allowed on /v1/tenants/shop/stats; it takes GET")]
    [InlineData("POST", "/v1/tenants/shop/users/u/profile", "{}", "application/json", HttpStatusCode.MethodNotAllowed, "method: POST is not allowed on /v1/tenants/shop/users/u/profile; it takes GET")]
    [InlineData("POST", "/v1/admin/lake/rebuild", "{}", "text/plain", HttpStatusCode.UnsupportedMediaType, "Content-Type: 'text/plain' is not accepted here")]
    [InlineData("POST", "/v1/events:ingest", "{\"tenant\": \"shop\", \"events\": []}", "text/plain", HttpStatusCode.BadRequest, "Unable to read the request as JSON because the request content type 'text/plain' is not a known JSON content type")]
    [InlineData("POST", "/v1/admin/lake/rebuild", "{\"tenant\": ", "application/json", HttpStatusCode.BadRequest, "Request body or parameters could not be read")]
    public async Task Refusals_that_aspnet_answers_empty_say_why(string method, string path, string? body, string? contentType, HttpStatusCode expected, string reason)
    {
        // Found by ApiFuzzTests: these came back as a bare status with an empty body.
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType!);
        }

        using var response = method == "GET" && (path.Contains("/.", StringComparison.Ordinal) || path.Contains("%2E", StringComparison.Ordinal))
            ? null
            : await Silo.Http.SendAsync(request);
        var (status, text) = response is null
            ? await RawHttp.SendAsync(Silo.HttpPort, method, path)
            : (response.StatusCode, await response.Content.ReadAsStringAsync());

        Assert.True(status == expected, $"{status}: {text}");
        Assert.StartsWith(reason, JsonDocument.Parse(text).RootElement.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("{\"userId\": \"someone-else\", \"traits\": {\"tier\": \"gold\"}}", "userId: the body names 'someone-else' but the path names 'body-vs-path'")]
    [InlineData("{\"user_id\": \"someone-else\", \"traits\": {\"tier\": \"gold\"}}", "user_id: the body names 'someone-else' but the path names 'body-vs-path'")]
    [InlineData("{\"tenant\": \"other\", \"traits\": {\"tier\": \"gold\"}}", "tenant: the body names 'other' but the path names 'shop'")]
    public async Task A_body_naming_another_user_or_tenant_than_the_path_is_refused_not_written_to_the_paths(string body, string reason)
    {
        // probe60: such a PUT answered 200 and wrote to the path's user, the body's silently dropped.
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Silo.Http.PutAsync("/v1/tenants/shop/users/body-vs-path/attributes", content);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {text}");
        Assert.StartsWith(reason, JsonDocument.Parse(text).RootElement.GetProperty("message").GetString());

        // The same names in both are fine.
        using var same = new StringContent("{\"tenant\": \"shop\", \"userId\": \"body-vs-path\", \"traits\": {\"tier\": \"gold\"}}", Encoding.UTF8, "application/json");
        using var accepted = await Silo.Http.PutAsync("/v1/tenants/shop/users/body-vs-path/attributes", same);
        Assert.True(accepted.StatusCode == HttpStatusCode.OK, await accepted.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/v1/tenants/shop/users/nobody-{0}/profile", HttpStatusCode.NotFound)]
    [InlineData("/v1/tenants/shop/users/nobody-{0}/document", HttpStatusCode.NotFound)]
    [InlineData("/v1/tenants/shop/users/nobody-{0}/document?asOf=yesterday", HttpStatusCode.BadRequest)]
    [InlineData("/v1/tenants/shop/identity/merges/no such merge {0}", HttpStatusCode.BadRequest)]
    // An outside probe (probe44): an unknown or erased user's identity was 200 with an empty record.
    [InlineData("/v1/tenants/shop/identity/nobody-{0}", HttpStatusCode.NotFound)]
    public async Task Every_rest_error_says_what_is_wrong_under_message(string pathFormat, HttpStatusCode expected)
    {
        // Found by a black-box run: the plain REST routes answered {"error": ...}, the transcoded ones {"code", "message"}.
        using var response = await Silo.Http.GetAsync(string.Format(CultureInfo.InvariantCulture, pathFormat, Guid.NewGuid().ToString("N")[..6]));
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == expected, $"{response.StatusCode}: {body}");
        Assert.False(string.IsNullOrWhiteSpace(JsonDocument.Parse(body).RootElement.GetProperty("message").GetString()), body);
    }

    [Theory]
    [InlineData("GET", "/v1/tenants/shop/users/u-1/profile?asof=2011-01-01T00:00:00Z", null, "asof: is not a query parameter of this request")]
    [InlineData("GET", "/v1/tenants/shop/segments?modelVersion=2", null, "modelVersion: is not a query parameter of this request")]
    [InlineData("POST", "/v1/tenants/shop/experiments", """{"id": "typo-1", "slot": "pdp", "trafic": 0.05, "variants": [{"key": "a", "control": true}, {"key": "b", "algorithm": "popular"}]}""", "experiment.trafic: is not a field here")]
    [InlineData("POST", "/v1/tenants/shop/experiments", """{"id": "typo-2", "slot": "pdp", "variants": [{"key": "a", "control": true, "weigth": 9}, {"key": "b"}]}""", "experiment.variants[0].weigth: is not a field here")]
    public async Task A_misspelt_parameter_or_field_is_refused_by_name_not_ignored(string method, string path, string? body, string reason)
    {
        // Found by a black-box run: ?asof= answered the profile as of now, and an experiment with "trafic": 0.05 and
        // "weigth" was created on 100% of the traffic with equal weights.
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await Silo.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {text}");
        Assert.StartsWith(reason, JsonDocument.Parse(text).RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_refusal_that_quotes_a_huge_value_stays_readable_over_grpc()
    {
        // Found by ApiFuzzTests: an unknown RFM cell of 70,000 characters was quoted whole in the message, which gRPC
        // sends percent-encoded in a header (420,000 bytes here); the client refused that answer and reported Unavailable.
        var segments = new SegmentService.SegmentServiceClient(Silo.Calls);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            segments.ListRfmMembersAsync(new ListRfmMembersRequest { Tenant = "shop", Cell = new string('\u00e9', 70_000) }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("cell: '\u00e9\u00e9", error.Status.Detail);
        Assert.EndsWith("more characters left out)", error.Status.Detail);
        Assert.True(error.Status.Detail.Length < 1100, $"{error.Status.Detail.Length} characters");
    }

    [Theory]
    [InlineData("ProfileGateway", "IngestEvents", "FFFFFF")]
    [InlineData("ProfileGateway", "GetProfile", "0A6461")]
    [InlineData("SegmentService", "ListSegments", "0B")]
    [InlineData("RecommendationService", "Recommend", "0F")]
    public async Task Bytes_that_are_not_a_protobuf_message_are_invalid_argument_not_unknown(string service, string method, string hex)
    {
        // Found by ApiFuzzTests: grpc-dotnet reads the request before any interceptor and answered a parse failure with
        // Unknown, "Exception was thrown by handler.", which a client cannot tell from a fault of the grid.
        var bytes = Grpc.Core.Marshallers.Create<byte[]>(b => b, b => b);
        var call = new Method<byte[], byte[]>(MethodType.Unary, "profilegrid.v1." + service, method, bytes, bytes);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            Silo.Calls.AsyncUnaryCall(call, null, new CallOptions(), Convert.FromHexString(hex)).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("(request): the bytes are not a valid ", error.Status.Detail);
        Assert.DoesNotContain("Exception", error.Status.Detail);

        // Well-formed calls are bound as before, the health service's too.
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() =>
            Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = "nobody-" + NewId() }).ResponseAsync)).StatusCode);
        var health = await new Grpc.Health.V1.Health.HealthClient(Silo.Calls).CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);
    }

    [Theory]
    [InlineData("", null, "(request): the gRPC message is incomplete")]
    [InlineData("0000000010 0A", null, "(request): the gRPC message is incomplete")]
    [InlineData("0000000000 0000000000", null, "(request): more than one message was sent to a unary method")]
    [InlineData("0100000002 0A00", null, "(request): the message is flagged compressed but the request has no grpc-encoding header")]
    [InlineData("0100000002 0A00", "gzip", "(request): the message could not be decompressed as gzip")]
    // An outside probe (probe45): a length prefix of 2^31 or more was Unknown, "Exception was thrown by handler.".
    [InlineData("00FFFFFFFF 0A00", null, "(request): the gRPC frame could not be read: its length prefix is larger")]
    [InlineData("0080000000 0A00", null, "(request): the gRPC frame could not be read: its length prefix is larger")]
    public async Task A_broken_grpc_frame_is_invalid_argument_not_internal(string hex, string? encoding, string expected)
    {
        // Found by ApiFuzzTests: grpc-dotnet answers broken framing with Internal ("Incomplete message.") and a compressed
        // message that does not decompress with Unknown ("Exception was thrown by handler."), as if the grid had failed.
        using var http2 = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{Silo.GrpcPort}/profilegrid.v1.ProfileGateway/GetProfile")
        {
            Content = new ByteArrayContent(Convert.FromHexString(hex.Replace(" ", ""))),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        if (encoding is not null)
        {
            request.Headers.TryAddWithoutValidation("grpc-encoding", encoding);
        }

        using var response = await http2.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();

        // Trailers-only: the status comes in the headers.
        Assert.Equal("3", response.Headers.GetValues("grpc-status").Single());
        Assert.StartsWith(expected, Uri.UnescapeDataString(response.Headers.GetValues("grpc-message").Single()));
    }

    [Theory]
    [InlineData("\"1e400\"", "must be a number between 0 and 100 (Infinity)")]
    [InlineData("\"-1e309\"", "must be a number between 0 and 100 (-Infinity)")]
    [InlineData("1e400", "must be a number between 0 and 100 (Infinity)")]
    public async Task A_quoted_double_beyond_range_rejects_its_event_by_field_as_the_unquoted_number_does(string value, string reason)
    {
        // Found by ApiFuzzTests: "1e400" (quoted, as proto3 JSON allows for a double) refused the whole batch with
        // "Request JSON payload is not correctly formatted.", naming no field; 1e400 unquoted rejected its event alone.
        var user = "u-" + NewId();
        var (status, body) = await PostIngestAsync($$$"""
            {"tenant": "shop", "events": [
              {"eventId": "d1", "type": "rating", "userId": "{{{user}}}", "occurredAt": "{{{Recently()}}}", "source": "web", "rating": {"productId": "p", "value": {{{value}}}}},
              {"eventId": "d2", "type": "page_view", "userId": "{{{user}}}", "occurredAt": "{{{Recently()}}}", "source": "web"}]}
            """);

        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.Equal(1, body.GetProperty("accepted").GetInt32());
        var rejected = Assert.Single(body.GetProperty("rejected").EnumerateArray());
        Assert.Equal(("events[0].rating.value", reason), (rejected.GetProperty("field").GetString(), rejected.GetProperty("reason").GetString()));
        await WaitForProfileAsync("shop", user, p => p.EventsApplied == 1);

        var (run, runBody) = await RawHttp.SendAsync(Silo.HttpPort, "POST", "/v1/tenants/shop/segments:run", "{\"correlationThreshold\": \"1e400\"}");
        Assert.True(run == HttpStatusCode.BadRequest, runBody);
        Assert.StartsWith("correlation_threshold: must be in (0, 1]; got Infinity", JsonDocument.Parse(runBody).RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_user_id_and_an_anonymous_id_of_the_same_text_are_two_people()
    {
        var bob = "bob-" + NewId();
        var anonymous = new WireEvent(PageView("", "a1")) { AnonymousId = bob };
        var response = await Silo.Client.IngestEventsAsync(new IngestEventsRequest
        {
            Tenant = "shop",
            Events = { anonymous, PageView("anon:" + bob, "u1"), PageView(bob, "b1"), PageView(bob, "b2") },
        });

        var rejected = Assert.Single(response.Rejected);
        Assert.Equal("events[1].user_id", rejected.Field);
        Assert.Contains("anonymous_id", rejected.Reason);
        Assert.Equal(3, response.Accepted);
        var visitor = await WaitForProfileAsync("shop", "anon:" + bob, p => p.EventsApplied == 1);
        Assert.Equal([bob], visitor.AnonymousIds);
        await WaitForProfileAsync("shop", bob, p => p.EventsApplied == 2);
    }

    [Fact]
    public async Task Rest_paths_are_decoded_exactly_once()
    {
        var suffix = NewId();
        string encodedUser = "w%41" + suffix, plainUser = "wA" + suffix;
        string slashTenant = "t/1-" + suffix, percentTenant = "t%2F1-" + suffix;
        await Silo.Client.IngestEventsAsync(new IngestEventsRequest
        {
            Tenant = "shop",
            Events =
            {
                PageView(encodedUser, "e1"), PageView(encodedUser, "e2"), PageView(plainUser, "p1"),
                PageView("u", "s1", slashTenant), PageView("u", "s2", percentTenant), PageView("u", "s3", percentTenant), PageView("u", "s4", percentTenant),
            },
        });
        await WaitForProfileAsync("shop", encodedUser, p => p.EventsApplied == 2);
        await WaitForProfileAsync("shop", plainUser, p => p.EventsApplied == 1);
        await WaitForProfileAsync(slashTenant, "u", p => p.EventsApplied == 1);
        await WaitForProfileAsync(percentTenant, "u", p => p.EventsApplied == 3);

        async Task<JsonElement> GetAsync(string target)
        {
            var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, "GET", target);
            Assert.True(status == HttpStatusCode.OK, $"{target}: {status} {body}");
            return JsonDocument.Parse(body).RootElement.Clone();
        }

        // "%25" is '%': the user "w%41", not "wA"; and "%41" is 'A'.
        Assert.Equal(encodedUser, (await GetAsync($"/v1/tenants/shop/users/w%2541{suffix}/profile")).GetProperty("userId").GetString());
        Assert.Equal(plainUser, (await GetAsync($"/v1/tenants/shop/users/w%41{suffix}/profile")).GetProperty("userId").GetString());
        Assert.Equal(encodedUser, (await GetAsync($"/v1/tenants/shop/users/w%2541{suffix}/document")).GetProperty("userId").GetString());
        Assert.Equal(plainUser, (await GetAsync($"/v1/tenants/shop/users/w%41{suffix}/document")).GetProperty("userId").GetString());

        // "%2F" is '/', once: tenant "t/1-...", while "%252F" is the tenant spelled "t%2F1-...".
        Assert.Equal(slashTenant, (await GetAsync($"/v1/tenants/t%2F1-{suffix}/users/u/profile")).GetProperty("tenant").GetString());
        Assert.Equal("1", (await GetAsync($"/v1/tenants/t%2F1-{suffix}/users/u/profile")).GetProperty("eventsApplied").ToString().Trim('"'));
        Assert.Equal(percentTenant, (await GetAsync($"/v1/tenants/t%252F1-{suffix}/users/u/profile")).GetProperty("tenant").GetString());
        Assert.Equal(percentTenant, (await GetAsync($"/v1/tenants/t%252F1-{suffix}/users/u/document")).GetProperty("tenant").GetString());

        // A write through an encoded path changes that user only.
        var (written, _) = await RawHttp.SendAsync(Silo.HttpPort, "PUT", $"/v1/tenants/shop/users/w%2541{suffix}/preferences", "{\"preference\": {\"key\": \"newsletter\", \"value\": \"weekly\"}}");
        Assert.Equal(HttpStatusCode.OK, written);
        Assert.Equal("weekly", (await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = encodedUser })).Preferences.Values["newsletter"]);
        Assert.Empty((await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = plainUser })).Preferences.Values);
    }

    [Fact]
    public async Task A_delete_whose_dot_segment_resolves_to_another_user_erases_nobody()
    {
        // An outside probe: DELETE /users/%2E/profile resolved to /users/profile and erased the user named "profile".
        var tenant = "dots-" + NewId();
        await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = tenant, Events = { PageView("profile", "p1") } });
        await WaitForProfileAsync(tenant, "profile", p => p.EventsApplied == 1);

        foreach (var target in new[] { $"/v1/tenants/{tenant}/users/%2E/profile", $"/v1/tenants/{tenant}/users/./profile", $"/v1/tenants/{tenant}/users/x/%2E%2E/profile" })
        {
            var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, "DELETE", target);
            Assert.True(status == HttpStatusCode.BadRequest, $"DELETE {target}: {status} {body}");
            Assert.StartsWith("path: a '.' or '..' segment (also as %2E) cannot be part of an API path", JsonDocument.Parse(body).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(1, (await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "profile" })).EventsApplied);
    }

    [Fact]
    public async Task A_trailing_slash_or_an_empty_segment_reaches_nobody_and_erases_nobody()
    {
        // An outside probe (probe45): "DELETE /users/kim/" erased user "kim" while user "kim/" (sent unescaped) was
        // meant; GET and PUT with a trailing '/' read and wrote "kim" too, as routing ignores the empty segment.
        var tenant = "slash-" + NewId();
        await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = tenant, Events = { PageView("kim", "k1"), PageView("kim/", "k2"), PageView("kim/", "k3") } });
        await WaitForProfileAsync(tenant, "kim", p => p.EventsApplied == 1);
        await WaitForProfileAsync(tenant, "kim/", p => p.EventsApplied == 2);

        foreach (var (method, target) in new[]
        {
            ("DELETE", $"/v1/tenants/{tenant}/users/kim/"),
            ("GET", $"/v1/tenants/{tenant}/users/kim/profile/"),
            ("GET", $"/v1/tenants/{tenant}/users/kim//profile"),
            ("GET", $"/v1/tenants/{tenant}/users/kim/document/"),
            ("PUT", $"/v1/tenants/{tenant}/users/kim/attributes/"),
            ("GET", $"/v1/tenants/{tenant}/recommendation-rules/"),
            // An outside re-check (probe46): routing ignores case, and "/V1/..." went unchecked.
            ("DELETE", $"/V1/tenants/{tenant}/users/kim/"),
            ("GET", $"/V1/TENANTS/{tenant}/users/kim/profile/"),
            ("POST", "/v1/events:ingest/"),
            // probe60: a leading "//" was 404 "not a route".
            ("GET", $"//v1/tenants/{tenant}/users/kim/profile"),
            ("DELETE", $"//v1/tenants/{tenant}/users/kim"),
        })
        {
            var body = method switch
            {
                "PUT" => "{\"demographics\": {\"country\": \"DE\"}}",
                "POST" => $"{{\"tenant\": \"{tenant}\", \"events\": [{{\"eventId\": \"k9\", \"type\": \"page_view\", \"userId\": \"kim\", \"occurredAt\": \"{Recently()}\", \"source\": \"web\"}}]}}",
                _ => null,
            };
            var (status, answer) = await RawHttp.SendAsync(Silo.HttpPort, method, target, body);
            Assert.True(status == HttpStatusCode.BadRequest, $"{method} {target}: {status} {answer}");
            Assert.StartsWith("path: an empty segment ('//', or a '/' at the end) cannot be part of an API path", JsonDocument.Parse(answer).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var kim = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "kim" });
        Assert.Equal(1, kim.EventsApplied);
        Assert.False(kim.Demographics.HasCountry);
        Assert.Equal(2, (await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "kim/" })).EventsApplied);

        // The user "kim/" as its id is sent in a path: escaped.
        var (read, readBody) = await RawHttp.SendAsync(Silo.HttpPort, "GET", $"/v1/tenants/{tenant}/users/kim%2F/profile");
        Assert.True(read == HttpStatusCode.OK && readBody.Contains("\"kim/\"", StringComparison.Ordinal), $"{read} {readBody}");
    }

    [Fact]
    public async Task Rule_and_item_ids_that_no_path_can_name_are_refused_and_a_dot_path_replaces_no_rules()
    {
        // An outside probe (probe45): rule "." was accepted, and then "PUT /recommendation-rules/%2E {}" resolved to
        // the PUT of the whole rule set and erased every rule of the tenant.
        var tenant = "dotrules-" + NewId();
        using (var content = new StringContent("{\"id\": \"vip\", \"action\": {\"type\": \"exclude\", \"items\": [\"i-7\"]}}", Encoding.UTF8, "application/json"))
        {
            using var created = await Silo.Http.PostAsync($"/v1/tenants/{tenant}/recommendation-rules", content);
            Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        }

        using (var content = new StringContent("{\"id\": \".\", \"action\": {\"type\": \"exclude\", \"items\": [\"i-7\"]}}", Encoding.UTF8, "application/json"))
        {
            using var dot = await Silo.Http.PostAsync($"/v1/tenants/{tenant}/recommendation-rules", content);
            var text = await dot.Content.ReadAsStringAsync();
            Assert.True(dot.StatusCode == HttpStatusCode.BadRequest && text.Contains("cannot be an id: URLs resolve it as a dot segment", StringComparison.Ordinal), text);
        }

        var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, "PUT", $"/v1/tenants/{tenant}/recommendation-rules/%2E", "{}");
        Assert.True(status == HttpStatusCode.BadRequest, $"{status} {body}");
        var (similar, similarBody) = await RawHttp.SendAsync(Silo.HttpPort, "GET", $"/v1/tenants/{tenant}/items/%2E/similar");
        Assert.True(similar == HttpStatusCode.BadRequest, $"{similar} {similarBody}");
        (status, body) = await RawHttp.SendAsync(Silo.HttpPort, "PUT", $"/V1/tenants/{tenant}/recommendation-rules/%2E", "{}");
        Assert.True(status == HttpStatusCode.BadRequest, $"/V1: {status} {body}");
        var rules = await new RecommendationService.RecommendationServiceClient(Silo.Calls).ListRulesAsync(new ListRulesRequest { Tenant = tenant });
        Assert.Equal(["vip"], rules.Rules.Select(r => r.Id));

        var upsert = await new RecommendationService.RecommendationServiceClient(Silo.Calls).UpsertItemsAsync(new UpsertItemsRequest
        {
            Tenant = tenant,
            Items = { new CatalogItem { ItemId = "..", Category = "x" }, new CatalogItem { ItemId = "i1", Category = "x" } },
        });
        Assert.Equal(["items[0].item_id"], upsert.Rejected.Select(r => r.Field));
        var ingest = await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = tenant, Events = { new WireEvent { EventId = "d1", Type = "product_view", UserId = "u1", OccurredAt = Recently(), Source = "web", Product = new ProductAction { ProductId = ".", Category = "x" } } } });
        Assert.Contains("cannot be an id", Assert.Single(ingest.Rejected).Reason);
    }

    [Fact]
    public async Task A_path_that_percent_encodes_bytes_that_are_not_utf8_is_refused_and_never_reaches_the_user_it_resembles()
    {
        var suffix = NewId();
        string percentUser = "%C3" + suffix, accentUser = "M\u00fcller" + suffix;
        await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { PageView(percentUser, "c1"), PageView(accentUser, "m1") } });
        await WaitForProfileAsync("shop", percentUser, p => p.EventsApplied == 1);
        await WaitForProfileAsync("shop", accentUser, p => p.EventsApplied == 1);

        // "%25C3" is the user spelled "%C3..."; "%C3%BC" is UTF-8 for u-umlaut.
        var (spelled, spelledBody) = await RawHttp.SendAsync(Silo.HttpPort, "GET", $"/v1/tenants/shop/users/%25C3{suffix}/profile");
        Assert.Equal(HttpStatusCode.OK, spelled);
        Assert.Equal(percentUser, JsonDocument.Parse(spelledBody).RootElement.GetProperty("userId").GetString());
        var (accent, accentBody) = await RawHttp.SendAsync(Silo.HttpPort, "GET", $"/v1/tenants/shop/users/M%C3%BCller{suffix}/document");
        Assert.Equal(HttpStatusCode.OK, accent);
        Assert.Equal(accentUser, JsonDocument.Parse(accentBody).RootElement.GetProperty("userId").GetString());

        // A lone "%C3" is no UTF-8: it used to decode to the same "%C3..." and read (or erase) that user.
        foreach (var (method, target) in new[]
                 {
                     ("GET", $"/v1/tenants/shop/users/%C3{suffix}/profile"),
                     ("GET", $"/v1/tenants/shop/users/%C3{suffix}/document"),
                     ("DELETE", $"/v1/tenants/shop/users/%C3{suffix}"),
                     ("GET", $"/v1/tenants/sh%FFop/users/u/profile"),
                 })
        {
            var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, method, target);
            Assert.True(status == HttpStatusCode.BadRequest, $"{method} {target}: {status} {body}");
            Assert.Contains("not UTF-8", body);
        }

        Assert.Equal(1, (await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = percentUser })).EventsApplied);
    }

    [Fact]
    public async Task Dot_user_ids_are_refused_because_a_url_cannot_name_them()
    {
        var response = await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { PageView(".", "d1"), PageView("..", "d2") } });

        Assert.Equal(["events[0].user_id", "events[1].user_id"], response.Rejected.Select(r => r.Field));
        var read = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = ".." }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, read.StatusCode);
        var (status, _) = await RawHttp.SendAsync(Silo.HttpPort, "GET", "/v1/tenants/shop/users/%2E%2E/profile");
        Assert.True((int)status is >= 400 and < 500, $"{status}");
    }

    [Theory]
    [InlineData("GET", "/v1/tenants/..%2F..%2F/segments")]
    [InlineData("GET", "/v1/tenants/..%2F..%2F/segments/curves")]
    [InlineData("GET", "/v1/tenants/..%2F..%2F/segments/map")]
    [InlineData("GET", "/v1/tenants/..%2F..%2F/segments/0/members")]
    [InlineData("GET", "/v1/tenants/..%2F..%2F/users/u/segment")]
    [InlineData("GET", "/v1/tenants/..%2F..%2F/users/u/segment:explain")]
    [InlineData("POST", "/v1/tenants/..%2F..%2F/segments:run")]
    [InlineData("GET", "/v1/tenants/a%2F..%2Fb/segments")]
    [InlineData("GET", "/v1/tenants/..%2F..%2F/users/u/profile")]
    public async Task A_tenant_with_dot_segments_is_invalid_not_unavailable(string method, string target)
    {
        var (status, body) = await RawHttp.SendAsync(Silo.HttpPort, method, target, method == "POST" ? "{}" : null);

        Assert.True(status == HttpStatusCode.BadRequest, $"{status}: {body}");
        Assert.Contains("tenant:", body);
    }
}
