using System.Net;
using System.Net.Sockets;
using System.Text;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// HTTP/1.1 over a plain socket, so the request target reaches the server byte for byte: System.Uri would unescape
/// "%41" and resolve "%2E%2E" before sending, which is exactly what the path tests must control.
/// </summary>
public static class RawHttp
{
    public static async Task<(HttpStatusCode Status, string Body)> SendAsync(int port, string method, string target, string? json = null, IEnumerable<(string Name, string Value)>? requestHeaders = null)
    {
        // As long as HttpClient waits by default: a server that never answers fails the test instead of holding the run.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(100));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        await using var stream = client.GetStream();
        var body = json is null ? [] : Encoding.UTF8.GetBytes(json);
        var head = new StringBuilder()
            .Append($"{method} {target} HTTP/1.1\r\n")
            .Append($"Host: 127.0.0.1:{port}\r\n")
            .Append("Connection: close\r\n");
        foreach (var (name, value) in requestHeaders ?? [])
        {
            head.Append($"{name}: {value}\r\n");
        }

        if (json is not null)
        {
            head.Append("Content-Type: application/json\r\n").Append($"Content-Length: {body.Length}\r\n");
        }

        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), timeout.Token);
        await stream.WriteAsync(body, timeout.Token);

        using var reader = new StreamReader(stream, Encoding.UTF8);
        var response = await reader.ReadToEndAsync(timeout.Token);
        var statusLine = response[..response.IndexOf("\r\n", StringComparison.Ordinal)];
        var status = (HttpStatusCode)int.Parse(statusLine.Split(' ')[1]);
        var headerEnd = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var headers = response[..headerEnd];
        var content = response[(headerEnd + 4)..];
        if (headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            content = Unchunk(content);
        }

        return (status, content);
    }

    /// <summary>
    /// Reads an HTTP/1.1 answer to its end (the request said Connection: close): its header block and its body, unchunked;
    /// headers empty when no header block came (Raw holds what did). A connection reset after some of the answer keeps
    /// what came.
    /// </summary>
    public static async Task<(string Headers, byte[] Content, byte[] Raw)> ReadAnswerAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        try
        {
            await stream.CopyToAsync(buffer, cancellationToken);
        }
        catch (IOException) when (buffer.Length > 0)
        {
        }

        var response = buffer.ToArray();
        var headerEnd = response.AsSpan().IndexOf("\r\n\r\n"u8);
        if (headerEnd <= 0)
        {
            return (string.Empty, [], response);
        }

        var headers = Encoding.ASCII.GetString(response, 0, headerEnd);
        var content = response[(headerEnd + 4)..];
        if (headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            content = Unchunk(content);
        }

        return (headers, content, response);
    }

    /// <summary>The body of a chunked HTTP/1.1 answer, as bytes (sizes count bytes, whatever the text's encoding).</summary>
    public static byte[] Unchunk(byte[] chunked)
    {
        using var result = new MemoryStream();
        var position = 0;
        while (position < chunked.Length)
        {
            var lineEnd = chunked.AsSpan(position).IndexOf("\r\n"u8) + position;
            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, position, lineEnd - position).Split(';')[0], 16);
            if (size == 0)
            {
                break;
            }

            result.Write(chunked, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }

        return result.ToArray();
    }

    private static string Unchunk(string chunked)
    {
        var result = new StringBuilder();
        var position = 0;
        while (position < chunked.Length)
        {
            var lineEnd = chunked.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[position..lineEnd].Split(';')[0], 16);
            if (size == 0)
            {
                break;
            }

            // Sizes count bytes; the bodies here are ASCII JSON apart from ids the tests choose ASCII too.
            result.Append(chunked, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }

        return result.ToString();
    }
}
