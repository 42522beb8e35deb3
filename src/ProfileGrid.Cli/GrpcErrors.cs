using Grpc.Core;

namespace ProfileGrid.Cli;

/// <summary>How the gRPC commands (import, import-events, export) report a call the grid refused or could not take.</summary>
internal static class GrpcErrors
{
    /// <summary>"the grid answered Status: detail", with a hint when --grid named the REST port instead of gRPC's.</summary>
    public static string Describe(RpcException ex) =>
        $"the grid answered {ex.StatusCode}: {ex.Status.Detail}"
        + (ex.Status.Detail.Contains("HTTP_1_1_REQUIRED", StringComparison.Ordinal)
            ? " (--grid looks like the REST address: give the gRPC one, 7070 under ./run.sh)"
            : "");
}
