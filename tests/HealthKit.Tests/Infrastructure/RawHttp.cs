// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net.Sockets;
using System.Text;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// Sends requests byte for byte over a socket, so tests control what HttpClient would normalise away:
/// HTTP/1.0 without a Host header (HAProxy's httpchk), an IP Host header, odd paths, pipelining.
/// </summary>
public static class RawHttp
{
    public static async Task<RawResponse> SendAsync(Uri server, string request, TimeSpan? timeout = null)
    {
        var responses = await SendManyAsync(server, request, 1, timeout);
        return responses[0];
    }

    /// <summary>Writes <paramref name="request"/> (one or several pipelined requests) and reads until the server closes.</summary>
    public static async Task<IReadOnlyList<RawResponse>> SendManyAsync(Uri server, string request, int expected, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, cts.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), cts.Token);
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        var head = request.StartsWith("HEAD ", StringComparison.Ordinal);
        while (true)
        {
            var read = await stream.ReadAsync(chunk, cts.Token);
            if (read == 0)
            {
                break;
            }

            buffer.Write(chunk, 0, read);
            if (RawResponse.TryParseAll(buffer.ToArray(), expected, head, out var done))
            {
                return done;
            }
        }

        if (RawResponse.TryParseAll(buffer.ToArray(), expected, head, out var all))
        {
            return all;
        }

        throw new InvalidOperationException($"Expected {expected} response(s); the connection closed after: {Encoding.ASCII.GetString(buffer.ToArray())}");
    }

    /// <summary>
    /// Writes one request in <paramref name="pieces"/>, each in its own TCP segment a moment after the last, as a slow
    /// or fragmenting client would, and reads the one response until the server closes.
    /// </summary>
    public static async Task<RawResponse> SendInPiecesAsync(Uri server, IReadOnlyList<string> pieces, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(server.Host, server.Port, cts.Token);
        var stream = client.GetStream();
        foreach (var piece in pieces)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(piece), cts.Token);
            await stream.FlushAsync(cts.Token);
            await Task.Delay(50, cts.Token);
        }

        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cts.Token);
        if (RawResponse.TryParseAll(buffer.ToArray(), 1, head: false, out var all))
        {
            return all[0];
        }

        throw new InvalidOperationException($"No whole response; the connection closed after: {Encoding.ASCII.GetString(buffer.ToArray())}");
    }

    public static Task<RawResponse> GetAsync(Uri server, string path, string? host, string method = "GET", string version = "HTTP/1.1", string extraHeaders = "")
    {
        var text = new StringBuilder();
        text.Append(method).Append(' ').Append(path).Append(' ').Append(version).Append("\r\n");
        if (host is not null)
        {
            text.Append("Host: ").Append(host).Append("\r\n");
        }

        text.Append(extraHeaders);
        if (version == "HTTP/1.1")
        {
            text.Append("Connection: close\r\n");
        }

        text.Append("\r\n");
        return SendAsync(server, text.ToString());
    }
}

public sealed class RawResponse
{
    public required string Version { get; init; }

    public required int Status { get; init; }

    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    public required string Body { get; init; }

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public override string ToString() => $"{Version} {Status} [{string.Join("; ", Headers.Select(h => h.Key + ": " + h.Value))}] {Body}";

    internal static bool TryParseAll(byte[] data, int expected, bool head, out IReadOnlyList<RawResponse> responses)
    {
        var list = new List<RawResponse>();
        var offset = 0;
        while (list.Count < expected)
        {
            if (!TryParseOne(data, head, ref offset, out var response))
            {
                responses = list;
                return false;
            }

            list.Add(response);
        }

        responses = list;
        return true;
    }

    private static bool TryParseOne(byte[] data, bool head, ref int offset, out RawResponse response)
    {
        response = null!;
        var headerEnd = IndexOf(data, "\r\n\r\n"u8, offset);
        if (headerEnd < 0)
        {
            return false;
        }

        var lines = Encoding.ASCII.GetString(data, offset, headerEnd - offset).Split("\r\n");
        var statusLine = lines[0].Split(' ', 3);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            headers[name] = headers.TryGetValue(name, out var existing) ? existing + ", " + value : value;
        }

        var status = int.Parse(statusLine[1]);
        var bodyStart = headerEnd + 4;
        int bodyLength;
        if (head)
        {
            bodyLength = 0;
        }
        else if (headers.TryGetValue("Content-Length", out var length))
        {
            bodyLength = int.Parse(length);
        }
        else if (status is 204 or 304 || (status >= 100 && status < 200))
        {
            bodyLength = 0;
        }
        else if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            return TryParseChunked(data, headerEnd, statusLine, headers, ref offset, out response);
        }
        else
        {
            bodyLength = data.Length - bodyStart;
        }

        if (data.Length - bodyStart < bodyLength)
        {
            return false;
        }

        response = new RawResponse
        {
            Version = statusLine[0],
            Status = status,
            Headers = headers,
            Body = Encoding.UTF8.GetString(data, bodyStart, bodyLength),
        };
        offset = bodyStart + bodyLength;
        return true;
    }

    private static bool TryParseChunked(byte[] data, int headerEnd, string[] statusLine, Dictionary<string, string> headers, ref int offset, out RawResponse response)
    {
        response = null!;
        var position = headerEnd + 4;
        var body = new MemoryStream();
        while (true)
        {
            var lineEnd = IndexOf(data, "\r\n"u8, position);
            if (lineEnd < 0)
            {
                return false;
            }

            var size = Convert.ToInt32(Encoding.ASCII.GetString(data, position, lineEnd - position).Split(';')[0], 16);
            position = lineEnd + 2;
            if (size == 0)
            {
                var trailerEnd = IndexOf(data, "\r\n"u8, position);
                if (trailerEnd < 0)
                {
                    return false;
                }

                position = trailerEnd + 2;
                break;
            }

            if (data.Length < position + size + 2)
            {
                return false;
            }

            body.Write(data, position, size);
            position += size + 2;
        }

        response = new RawResponse
        {
            Version = statusLine[0],
            Status = int.Parse(statusLine[1]),
            Headers = headers,
            Body = Encoding.UTF8.GetString(body.ToArray()),
        };
        offset = position;
        return true;
    }

    private static int IndexOf(byte[] data, ReadOnlySpan<byte> value, int start)
    {
        var index = data.AsSpan(start).IndexOf(value);
        return index < 0 ? -1 : start + index;
    }
}
