using System.Diagnostics;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ProfileGrid.Silo.Hosting.Operations;

/// <summary>
/// Whether the storage account answers: one cheap listing call each to Table storage (profile state) and Blob storage
/// (the event log, segments), without retries and within <see cref="HealthSettings.StorageTimeout"/>. An answer is
/// reused for <see cref="HealthSettings.CacheFor"/>, and concurrent probes share one, so a storm of health requests
/// costs storage one call of each kind per interval. Memory storage is healthy and says it is throwaway.
/// </summary>
public sealed class StorageHealthCheck(HostSettings host, HealthSettings health, TimeProvider clock) : IHealthCheck
{
    private readonly Lazy<(TableServiceClient Tables, BlobServiceClient Blobs)> _clients = new(() =>
    {
        var tableOptions = new TableClientOptions();
        var blobOptions = new BlobClientOptions();
        foreach (var retry in new[] { tableOptions.Retry, blobOptions.Retry })
        {
            // A health probe reports the first answer; the timeout, not a retry, bounds how long it waits.
            retry.MaxRetries = 0;
            retry.NetworkTimeout = health.StorageTimeout;
        }

        return (new TableServiceClient(host.StorageConnectionString, tableOptions), new BlobServiceClient(host.StorageConnectionString, blobOptions));
    });

    private readonly Lock _gate = new();
    private Task<HealthCheckResult>? _probe;
    private DateTimeOffset _probedAt;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        Task<HealthCheckResult> probe;
        lock (_gate)
        {
            if (_probe is null || (_probe.IsCompleted && clock.GetUtcNow() - _probedAt >= health.CacheFor))
            {
                _probedAt = clock.GetUtcNow();
                _probe = ProbeAsync();
            }

            probe = _probe;
        }

        return probe.WaitAsync(cancellationToken);
    }

    private async Task<HealthCheckResult> ProbeAsync()
    {
        if (host.Storage == StorageProvider.Memory && !host.NeedsAzureStorage)
        {
            return HealthCheckResult.Healthy("memory: grain state and the event log are in this process and lost when it stops (tests and throwaway runs)");
        }

        using var timeout = new CancellationTokenSource(health.StorageTimeout);
        var (tables, blobs) = _clients.Value;
        var table = TimeAsync(async token =>
        {
            await foreach (var _ in tables.QueryAsync(maxPerPage: 1, cancellationToken: token).AsPages(pageSizeHint: 1).WithCancellation(token))
            {
                break;
            }
        }, timeout.Token);
        var blob = TimeAsync(async token =>
        {
            await foreach (var _ in blobs.GetBlobContainersAsync(cancellationToken: token).AsPages(pageSizeHint: 1).WithCancellation(token))
            {
                break;
            }
        }, timeout.Token);
        await Task.WhenAll(table, blob);

        var ((tableMs, tableError), (blobMs, blobError)) = (table.Result, blob.Result);
        var data = new Dictionary<string, object>
        {
            ["provider"] = "AzureStorage",
            ["tableMs"] = tableMs,
            ["blobMs"] = blobMs,
            ["cachedForSeconds"] = health.CacheFor.TotalSeconds,
        };
        if (tableError is null && blobError is null)
        {
            return HealthCheckResult.Healthy($"Azure Storage reachable: table {tableMs:0} ms, blob {blobMs:0} ms", data);
        }

        var failures = new[] { ("table", tableError), ("blob", blobError) }.Where(f => f.Item2 is not null).Select(f => $"{f.Item1}: {f.Item2}");
        return HealthCheckResult.Unhealthy(
            $"Azure Storage unreachable ({string.Join("; ", failures)}): events cannot be acknowledged and profile state cannot be written", data: data);
    }

    /// <summary>The call's duration in milliseconds, and what went wrong (null: it answered).</summary>
    private async Task<(double Ms, string? Error)> TimeAsync(Func<CancellationToken, Task> call, CancellationToken token)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await call(token);
            return (Stopwatch.GetElapsedTime(started).TotalMilliseconds, null);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return (Stopwatch.GetElapsedTime(started).TotalMilliseconds, $"no answer within {health.StorageTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex)
        {
            // Status 0: no HTTP answer at all (refused, reset, unresolved); the innermost exception says which.
            var error = ex is Azure.RequestFailedException { Status: > 0 } failed
                ? $"HTTP {failed.Status} {failed.ErrorCode}".TrimEnd()
                : $"{ex.GetBaseException().GetType().Name}: {ex.GetBaseException().Message}";
            return (Stopwatch.GetElapsedTime(started).TotalMilliseconds, Truncate(error));
        }
    }

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200];
}
