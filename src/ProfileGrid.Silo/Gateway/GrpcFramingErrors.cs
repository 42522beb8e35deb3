using Grpc.Core;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// A gRPC request whose framing is broken (no message, a frame cut short, a second message for a unary call, a
/// compressed flag without grpc-encoding, a compressed message that does not decompress, a length prefix of 2 GiB or
/// more) is the client's to fix, but
/// grpc-dotnet answers it with Internal or Unknown ("Exception was thrown by handler."), as if the grid had failed.
/// These answers are trailers-only (nothing was sent yet), so the status is rewritten to InvalidArgument here, with what
/// was wrong. Statuses our own code sets are never touched: they come through ErrorMappingInterceptor, with an error id.
/// </summary>
public sealed class GrpcFramingErrors(RequestDelegate next)
{
    private static readonly Dictionary<string, string> Framing = new(StringComparer.Ordinal)
    {
        ["Incomplete message."] = "(request): the gRPC message is incomplete (no message, or a frame shorter than its length prefix)",
        ["Additional data after the message received."] = "(request): more than one message was sent to a unary method",
        ["Request did not include grpc-encoding value with compressed message."] = "(request): the message is flagged compressed but the request has no grpc-encoding header",
    };

    public async Task InvokeAsync(HttpContext http)
    {
        await next(http);
        if (http.Response.HasStarted || http.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true)
        {
            return;
        }

        var headers = http.Response.Headers;
        string? reason = null;
        if (headers["grpc-status"] == ((int)StatusCode.Internal).ToString() && Framing.TryGetValue(headers["grpc-message"].ToString(), out var framing))
        {
            reason = framing;
        }
        else if (headers["grpc-status"] == ((int)StatusCode.Unknown).ToString() && http.Request.Headers.ContainsKey("grpc-encoding"))
        {
            // Nothing of ours answers Unknown; for a compressed request it is the decompression that failed.
            reason = $"(request): the message could not be decompressed as {http.Request.Headers["grpc-encoding"]}";
        }
        else if (headers["grpc-status"] == ((int)StatusCode.Unknown).ToString())
        {
            // Reading the frame failed before any code of ours ran: a length prefix of 2 GiB or more ("Message too large",
            // an IOException) is what reaches here; a smaller one over the limit is ResourceExhausted already.
            reason = "(request): the gRPC frame could not be read: its length prefix is larger than any message this server takes, or the frame is broken";
        }

        if (reason is not null)
        {
            headers["grpc-status"] = ((int)StatusCode.InvalidArgument).ToString();
            headers["grpc-message"] = PercentEncode(reason);
        }
    }

    /// <summary>grpc-message's encoding: UTF-8, with '%' and every byte outside printable ASCII percent-encoded.</summary>
    private static string PercentEncode(string text)
    {
        var encoded = new System.Text.StringBuilder();
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(text))
        {
            encoded.Append(b is >= 0x20 and <= 0x7E and not (byte)'%' ? ((char)b).ToString() : $"%{b:X2}");
        }

        return encoded.ToString();
    }
}
