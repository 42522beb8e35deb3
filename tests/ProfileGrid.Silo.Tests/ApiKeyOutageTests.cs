using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Silo.Access;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The key grains out of reach (the silo holding them killed; the cluster takes seconds to notice): a key that passed
/// within the last minute is still taken, where the surviving silo refused every request of every client for 7 s
/// (probe52). A key never checked, or checked too long ago, still gets Unavailable, and a revoked key stays refused.
/// The kill itself is stood in for by grain references that fail as references to a dead silo do.
/// </summary>
public sealed class ApiKeyOutageTests
{
    private readonly ManualClock _clock = new();
    private readonly Cluster _cluster = new();
    private readonly ApiKeyStore _store;
    private readonly string _text;

    public ApiKeyOutageTests()
    {
        var (id, text) = ApiKeyText.NewKey();
        _text = text;
        _cluster.Keys[id] = new ApiKeyRecord { Id = id, Name = "shop", Scopes = ["read"], Tenants = ["shop"], SecretHash = ApiKeyText.Hash(text) };
        _store = new ApiKeyStore(_cluster.Factory, new AuthSettings(), _clock, NullLogger<ApiKeyStore>.Instance);
    }

    [Fact]
    public async Task A_key_checked_within_the_last_minute_is_taken_while_its_grains_cannot_answer()
    {
        Assert.NotNull(await _store.CheckAsync(_text));

        _cluster.Down = true;
        _clock.Advance(TimeSpan.FromSeconds(30)); // past the 5 s trust: the key is checked again, and that fails
        Assert.Equal("shop", (await _store.CheckAsync(_text))!.Key.Name);

        _clock.Advance(TimeSpan.FromSeconds(40)); // 70 s since the check: no longer
        await Assert.ThrowsAsync<SiloUnavailableException>(async () => await _store.CheckAsync(_text));
    }

    [Fact]
    public async Task A_key_never_checked_or_revoked_gets_no_such_grace()
    {
        _cluster.Down = true;
        await Assert.ThrowsAsync<SiloUnavailableException>(async () => await _store.CheckAsync(_text));

        _cluster.Down = false;
        var record = _cluster.Keys.Values.Single();
        _cluster.Keys[record.Id] = record with { RevokedAt = _clock.GetUtcNow() };
        Assert.Null(await _store.CheckAsync(_text));
        _cluster.Down = true;
        _clock.Advance(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAsync<SiloUnavailableException>(async () => await _store.CheckAsync(_text));
    }

    [Fact]
    public async Task A_key_refused_since_it_passed_is_not_taken_from_its_earlier_pass()
    {
        // Passed, then revoked on another silo: refused here once the trust ran out, then the grains went out of reach.
        Assert.NotNull(await _store.CheckAsync(_text));
        var record = _cluster.Keys.Values.Single();
        _cluster.Keys[record.Id] = record with { RevokedAt = _clock.GetUtcNow() };
        _clock.Advance(TimeSpan.FromSeconds(6));
        Assert.Null(await _store.CheckAsync(_text));

        _cluster.Down = true;
        _clock.Advance(TimeSpan.FromSeconds(6)); // the refusal's own trust ran out too: checked again, and that fails
        await Assert.ThrowsAsync<SiloUnavailableException>(async () => await _store.CheckAsync(_text));
    }

    /// <summary>The two key grains the store asks, answering from <see cref="Keys"/>, or failing while <see cref="Down"/>.</summary>
    public sealed class Cluster
    {
        internal Dictionary<string, ApiKeyRecord> Keys { get; } = [];

        internal bool Down { get; set; }

        internal IGrainFactory Factory => GrainFactoryProxy.Create(this);

        internal object Grain(Type grainInterface, object key) =>
            grainInterface == typeof(IApiKeyDirectoryGrain) ? GrainProxy.Create<IApiKeyDirectoryGrain>(this, key)
            : grainInterface == typeof(IApiKeyGrain) ? GrainProxy.Create<IApiKeyGrain>(this, key)
            : throw new NotSupportedException(grainInterface.Name);

        internal object? Answer(string method, object key, object?[]? args)
        {
            if (Down)
            {
                throw new SiloUnavailableException("the silo holding the grain is dead");
            }

            return method switch
            {
                nameof(IApiKeyDirectoryGrain.ContainsAsync) => Task.FromResult(Keys.ContainsKey((string)args![0]!)),
                nameof(IApiKeyGrain.GetAsync) => Task.FromResult(Keys.GetValueOrDefault((string)key)),
                _ => throw new NotSupportedException(method),
            };
        }
    }

    public class GrainFactoryProxy : DispatchProxy
    {
        private Cluster _cluster = null!;

        internal static IGrainFactory Create(Cluster cluster)
        {
            var proxy = Create<IGrainFactory, GrainFactoryProxy>();
            ((GrainFactoryProxy)(object)proxy)._cluster = cluster;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args) =>
            method!.Name == nameof(IGrainFactory.GetGrain) && method.IsGenericMethod
                ? _cluster.Grain(method.GetGenericArguments()[0], args![0]!)
                : throw new NotSupportedException(method.Name);
    }

    public class GrainProxy : DispatchProxy
    {
        private Cluster _cluster = null!;
        private object _key = null!;

        internal static T Create<T>(Cluster cluster, object key)
            where T : class
        {
            var proxy = Create<T, GrainProxy>();
            var self = (GrainProxy)(object)proxy;
            (self._cluster, self._key) = (cluster, key);
            return proxy;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args) => _cluster.Answer(method!.Name, _key, args);
    }

    /// <summary>A clock that moves only when told.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1_000_000;

        public void Advance(TimeSpan by) => _ticks += (long)(by.TotalSeconds * TimestampFrequency);

        public override long GetTimestamp() => _ticks;
    }
}
