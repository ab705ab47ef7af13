// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers.Text;
using System.Text;

namespace HealthKit.Output;

/// <summary>
/// Writes an HTTP/1.1 response head byte for byte, for a door that owns its socket and has no Kestrel (the probe
/// listener): the status line, <c>Date</c>, <c>Cache-Control: no-store</c>, <c>Allow</c> when given, the type and
/// length of the body, and <c>Connection: close</c>. Bodies come from <see cref="ProbeResponse"/>,
/// <see cref="HealthDocumentWriter"/> and <see cref="StatusPage"/>, as on the main port.
/// </summary>
internal static class Http1ResponseWriter
{
    /// <summary>Enough for the longest head this writer produces (about 220 bytes).</summary>
    public const int MaxHeadLength = 512;

    private static readonly byte[] HealthJsonType = Encoding.ASCII.GetBytes(ProbeResponse.HealthJson);
    private static readonly byte[] TextPlainType = Encoding.ASCII.GetBytes(ProbeResponse.TextPlain);
    private static readonly byte[] HtmlType = Encoding.ASCII.GetBytes(StatusPage.ContentType);

    /// <summary>
    /// Writes the head into <paramref name="destination"/> (at least <see cref="MaxHeadLength"/> bytes) and returns
    /// its length. <paramref name="date"/> is the RFC 1123 date of the <c>Date</c> header.
    /// </summary>
    public static int WriteHead(
        Span<byte> destination,
        int statusCode,
        string? contentType,
        int contentLength,
        ReadOnlySpan<byte> allow,
        ReadOnlySpan<byte> date)
    {
        var written = 0;
        Append(destination, ref written, "HTTP/1.1 "u8);
        Append(destination, ref written, StatusLine(statusCode));
        Append(destination, ref written, "\r\nDate: "u8);
        Append(destination, ref written, date);
        Append(destination, ref written, "\r\nCache-Control: no-store\r\n"u8);
        if (!allow.IsEmpty)
        {
            Append(destination, ref written, "Allow: "u8);
            Append(destination, ref written, allow);
            Append(destination, ref written, "\r\n"u8);
        }

        if (contentType is not null)
        {
            Append(destination, ref written, "Content-Type: "u8);
            Append(destination, ref written, TypeBytes(contentType));
            Append(destination, ref written, "\r\n"u8);
        }

        Append(destination, ref written, "Content-Length: "u8);
        Utf8Formatter.TryFormat(contentLength, destination[written..], out var digits);
        written += digits;
        Append(destination, ref written, "\r\nConnection: close\r\n\r\n"u8);
        return written;
    }

    private static ReadOnlySpan<byte> StatusLine(int statusCode) => statusCode switch
    {
        200 => "200 OK"u8,
        503 => "503 Service Unavailable"u8,
        405 => "405 Method Not Allowed"u8,
        404 => "404 Not Found"u8,
        431 => "431 Request Header Fields Too Large"u8,
        505 => "505 HTTP Version Not Supported"u8,
        _ => "400 Bad Request"u8,
    };

    private static ReadOnlySpan<byte> TypeBytes(string contentType) => contentType switch
    {
        ProbeResponse.HealthJson => HealthJsonType,
        ProbeResponse.TextPlain => TextPlainType,
        StatusPage.ContentType => HtmlType,
        _ => Encoding.ASCII.GetBytes(contentType),
    };

    private static void Append(Span<byte> destination, ref int written, ReadOnlySpan<byte> value)
    {
        value.CopyTo(destination[written..]);
        written += value.Length;
    }
}
