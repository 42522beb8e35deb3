using Grpc.Core;

namespace ProfileGrid.Cli;

/// <summary>How the gRPC commands (import, import-events, export) report a call the grid refused or could not take.</summary>
internal static class GrpcErrors
{
    /// <summary>"the grid answered Status: detail", with a hint when --grid named the REST port instead of gRPC's.</summary>
    public static string Describe(RpcException ex) =>
        $"the grid answered {ex.StatusCode}: {ex.Status.Detail}"
        // The REST port answers HTTP/2 with HTTP_1_1_REQUIRED, or the connection fails before any answer.
        + (ex.Status.Detail.Contains("HTTP_1_1_REQUIRED", StringComparison.Ordinal)
            || ex.Status.Detail.Contains("An HTTP/2 connection could not be established", StringComparison.Ordinal)
            ? " (--grid looks like the REST address: give the gRPC one, 7070 under ./run.sh)"
            : "");

    /// <summary>For the REST commands (users, identity, keys): a hint when --grid named the gRPC port instead of REST's.</summary>
    public static string RestHint(string answer) =>
        answer.Contains("HTTP/1.x request was sent to an HTTP/2 only endpoint", StringComparison.Ordinal)
            ? " (--grid looks like the gRPC address: give the REST one, 7080 under ./run.sh)"
            : "";

    /// <summary>
    /// What to do after an import stopped on <paramref name="status"/>: running the same command again helps only when
    /// the failure was passing (the grid down or busy); a refused key or request needs a change first.
    /// </summary>
    public static string ImportAdvice(StatusCode status, long acknowledged) => status switch
    {
        StatusCode.Unauthenticated =>
            $"give a valid API key (--key or --key-file, or PROFILEGRID_API_KEY), then run the command again: it resumes from event {acknowledged:N0}",
        StatusCode.PermissionDenied =>
            $"give a key with the ingest scope for this tenant (--key or --key-file), then run the command again: it resumes from event {acknowledged:N0}",
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.NotFound or StatusCode.Unimplemented =>
            $"running the same command again will not help; correct what the grid named (the tenant, --grid, the mapping), then run it again: it resumes from event {acknowledged:N0}",
        StatusCode.ResourceExhausted =>
            $"if the grid said the message exceeds its maximum size (its ProfileGrid:Gateway:MaxRequestBytes is under the 3 MiB requests are cut to), run the command again with a smaller --batch; otherwise run it again as it is: it resumes from event {acknowledged:N0}",
        _ => $"run the same command again to resume from event {acknowledged:N0}",
    };
}
