namespace ProfileGrid.Simulator;

/// <summary>The outcome of a replay, summed over every request the gateway answered.</summary>
/// <param name="Requests">Requests answered by the gateway.</param>
/// <param name="EventsSent">Events in those requests (a retried request counts once).</param>
/// <param name="Accepted">Events the gateway accepted.</param>
/// <param name="Duplicates">Accepted events the gateway recognised as already seen.</param>
/// <param name="Rejected">Events the gateway rejected.</param>
/// <param name="RejectionSamples">The first few rejections, as <c>event id, field: reason</c>.</param>
/// <param name="Retries">Attempts repeated after a transient failure.</param>
/// <param name="Elapsed">Wall-clock time of the replay.</param>
public sealed record ReplayReport(
    int Requests,
    long EventsSent,
    long Accepted,
    long Duplicates,
    long Rejected,
    IReadOnlyList<string> RejectionSamples,
    int Retries,
    TimeSpan Elapsed)
{
    /// <summary>Throughput over the whole replay.</summary>
    public double EventsPerSecond => Elapsed > TimeSpan.Zero ? EventsSent / Elapsed.TotalSeconds : 0;
}

/// <summary>Where a replay stands, reported after each answered request.</summary>
/// <param name="Requests">Requests answered so far.</param>
/// <param name="EventsSent">Events in those requests.</param>
/// <param name="Accepted">Events accepted so far.</param>
/// <param name="Rejected">Events rejected so far.</param>
/// <param name="Elapsed">Time since the replay started.</param>
public readonly record struct ReplayProgress(int Requests, long EventsSent, long Accepted, long Rejected, TimeSpan Elapsed);
