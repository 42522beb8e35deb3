using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;
using ProfileGrid.Contracts.V1;
using ProfileGrid.DevHost;
using ProfileGrid.Silo.Tests.Otlp;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Traces as a collector receives them: the silo exports over OTLP/HTTP to a small receiver on loopback, and one
/// ingest request must show up as one trace from the gateway through the log partition to the profile grain.
/// </summary>
public class TraceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task One_ingest_request_is_one_trace_from_the_gateway_through_the_log_partition_to_the_profile()
    {
        await using var collector = OtlpReceiver.Start();
        await using var silo = await SiloProcess.StartEphemeralAsync(
            $"--ProfileGrid:Telemetry:OtlpEndpoint=http://127.0.0.1:{collector.Port}", "--ProfileGrid:Telemetry:OtlpProtocol=HttpProtobuf",
            "--OTEL_BSP_SCHEDULE_DELAY=200");

        var user = "trace-" + Guid.NewGuid().ToString("N")[..8];
        var request = new IngestEventsRequest { Tenant = "shop" };
        request.Events.Add(new WireEvent
        {
            EventId = "t-1", Type = "page_view", UserId = user, Source = "web",
            OccurredAt = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"), Page = new PageView { Url = "/" },
        });
        Assert.Equal(1, (await silo.Client.IngestEventsAsync(request)).Accepted);

        // The gateway's span for the request, then everything of its trace: exported in batches, so poll.
        OtlpSpan? gateway = null;
        List<OtlpSpan> trace = [];
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            gateway = collector.Spans.FirstOrDefault(s => s.Scope == "Microsoft.AspNetCore" && s.Name.Contains("IngestEvents", StringComparison.Ordinal));
            trace = gateway is null ? [] : collector.Spans.Where(s => s.TraceId == gateway.TraceId).ToList();
            // The dispatch span ends after the profile's apply returns, so it may come in a later export batch: wait for both.
            if (trace.Any(s => s.Name.Contains("ApplyLogged", StringComparison.Ordinal) && s.Kind == SpanKindServer)
                && trace.Any(s => s.Scope == "ProfileGrid.Ingest" && s.Name == "dispatch log record"))
            {
                break;
            }

            await Task.Delay(200);
        }

        foreach (var span in trace)
        {
            output.WriteLine($"{span.Scope,-32} {span.Kind} {span.Name} ({span.SpanId} <- {span.ParentSpanId})");
        }

        Assert.NotNull(gateway);
        var append = Assert.Single(trace, s => s.Name.Contains("IEventLogPartitionGrain", StringComparison.Ordinal) && s.Name.Contains("Append", StringComparison.Ordinal) && s.Kind == SpanKindServer);
        var dispatch = Assert.Single(trace, s => s.Scope == "ProfileGrid.Ingest" && s.Name == "dispatch log record");
        var apply = Assert.Single(trace, s => s.Name.Contains("IUserProfileGrain", StringComparison.Ordinal) && s.Name.Contains("ApplyLogged", StringComparison.Ordinal) && s.Kind == SpanKindServer);

        // The dispatch runs after the request was acknowledged, from the partition's pump: its parent is the append that
        // wrote the record, and the profile's apply is under the dispatch.
        Assert.Equal(append.SpanId, dispatch.ParentSpanId);
        Assert.True(IsUnder(apply, dispatch, trace), "the profile grain's apply is a descendant of the dispatch");
        Assert.True(IsUnder(append, gateway!, trace), "the partition's append is a descendant of the gateway's request");
        Assert.True(dispatch.Attributes.ContainsKey("profilegrid.log.position"), "the dispatch names the record's log position");
        Assert.True(dispatch.Attributes.ContainsKey("profilegrid.log.partition"), "the dispatch names its log partition");
    }

    private const int SpanKindServer = 2;

    private static bool IsUnder(OtlpSpan span, OtlpSpan ancestor, List<OtlpSpan> trace)
    {
        for (var current = span; current is not null; current = trace.FirstOrDefault(s => s.SpanId == current.ParentSpanId))
        {
            if (current.ParentSpanId == ancestor.SpanId)
            {
                return true;
            }
        }

        return false;
    }

    private sealed record OtlpSpan(string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, Dictionary<string, string> Attributes);

    /// <summary>An OTLP/HTTP receiver on a free loopback port: keeps the spans of every /v1/traces request, answers the other signals empty.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        private OtlpReceiver(int port)
        {
            Port = port;
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _loop = Task.Run(ServeAsync);
        }

        public int Port { get; }

        public ConcurrentQueue<OtlpSpan> Spans { get; } = new();

        public static OtlpReceiver Start() => new(AzuriteServer.FreeTcpPort());

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                if (context.Request.Url?.AbsolutePath == "/v1/traces")
                {
                    Keep(ExportTraceServiceRequest.Parser.ParseFrom(body.ToArray()));
                }

                context.Response.StatusCode = 200;
                context.Response.ContentType = "application/x-protobuf";
                context.Response.Close();
            }
        }

        private void Keep(ExportTraceServiceRequest request)
        {
            foreach (var scope in request.ResourceSpans.SelectMany(r => r.ScopeSpans))
            {
                foreach (var span in scope.Spans)
                {
                    Spans.Enqueue(new OtlpSpan(
                        scope.Scope?.Name ?? string.Empty, Hex(span.TraceId), Hex(span.SpanId), Hex(span.ParentSpanId), span.Name, span.Kind,
                        span.Attributes.DistinctBy(a => a.Key).ToDictionary(a => a.Key, a => a.Value?.ValueCase switch
                        {
                            AnyValue.ValueOneofCase.StringValue => a.Value.StringValue,
                            AnyValue.ValueOneofCase.IntValue => a.Value.IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
                            AnyValue.ValueOneofCase.BoolValue => a.Value.BoolValue ? "true" : "false",
                            _ => string.Empty,
                        })));
                }
            }
        }

        private static string Hex(ByteString bytes) => Convert.ToHexString(bytes.Span);

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            await _loop;
        }
    }
}
