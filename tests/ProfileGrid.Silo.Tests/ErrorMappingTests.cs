using Grpc.Core;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using ProfileGrid.Silo.Gateway;

namespace ProfileGrid.Silo.Tests;

/// <summary>What a client is told when a call fails: retry (Unavailable) only when a retry can help.</summary>
public class ErrorMappingTests
{
    private readonly CapturingLogger _log = new();

    private async Task<RpcException> FailWith(Exception exception)
    {
        var interceptor = new ErrorMappingInterceptor(_log);
        return await Assert.ThrowsAsync<RpcException>(() => interceptor.UnaryServerHandler<string, string>(
            "request", new FakeCallContext(), (_, _) => Task.FromException<string>(exception)));
    }

    public static TheoryData<Exception> Transient =>
    [
        new SiloUnavailableException("silo left"),
        new TimeoutException("Response did not arrive on time"),
        new Azure.RequestFailedException(503, "Server busy"),
        new Azure.RequestFailedException(429, "Throttled"),
        new AggregateException(new TimeoutException("a"), new SiloUnavailableException("b")),
        new InvalidOperationException("wrapped", new TimeoutException("storage timed out")),
    ];

    [Theory]
    [MemberData(nameof(Transient))]
    public async Task Transient_failures_are_unavailable(Exception exception)
    {
        var error = await FailWith(exception);

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("retry", error.Status.Detail);
    }

    public static TheoryData<Exception> Faults =>
    [
        new InvalidOperationException("Log partition 3 is at 7, not 5: another writer appended."),
        new NullReferenceException(),
        new Azure.RequestFailedException(400, "InvalidResourceName"),
        new FormatException("'x' is not a profile key"),
        new Microsoft.AspNetCore.Http.BadHttpRequestException("Unexpected end of request content."),
        new AggregateException(new TimeoutException("a"), new ArgumentException("b")),
    ];

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task Other_failures_are_internal_with_an_error_id_that_the_log_carries(Exception exception)
    {
        var error = await FailWith(exception);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
        var match = System.Text.RegularExpressions.Regex.Match(error.Status.Detail, "^Internal error ([0-9a-f]{12}):");
        Assert.True(match.Success, error.Status.Detail);
        Assert.DoesNotContain(exception.Message, error.Status.Detail);
        var line = Assert.Single(_log.Lines);
        Assert.Equal(LogLevel.Error, line.Level);
        Assert.Contains(match.Groups[1].Value, line.Message);
        Assert.Same(exception, line.Exception);
    }

    [Theory]
    [InlineData(StatusCode.InvalidArgument)]
    [InlineData(StatusCode.NotFound)]
    [InlineData(StatusCode.FailedPrecondition)]
    public async Task Domain_errors_keep_their_code(StatusCode code)
    {
        var error = await FailWith(new RpcException(new Status(code, "tenant: is required")));

        Assert.Equal(code, error.StatusCode);
        Assert.Equal("tenant: is required", error.Status.Detail);
        Assert.Empty(_log.Lines);
    }

    private sealed class CapturingLogger : ILogger<ErrorMappingInterceptor>
    {
        public List<(LogLevel Level, string Message, Exception? Exception)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception), exception));
    }

    private sealed class FakeCallContext : ServerCallContext
    {
        protected override string MethodCore => "/profilegrid.v1.ProfileGateway/GetProfile";
        protected override string HostCore => "127.0.0.1";
        protected override string PeerCore => "ipv4:127.0.0.1:5000";
        protected override DateTime DeadlineCore => DateTime.MaxValue;
        protected override Metadata RequestHeadersCore { get; } = [];
        protected override CancellationToken CancellationTokenCore => CancellationToken.None;
        protected override Metadata ResponseTrailersCore { get; } = [];
        protected override Status StatusCore { get; set; }
        protected override WriteOptions? WriteOptionsCore { get; set; }
        protected override AuthContext AuthContextCore => new(null, []);
        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();
        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
