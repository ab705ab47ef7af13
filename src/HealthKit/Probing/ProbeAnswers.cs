// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Buffers.Text;
using System.Text;
using HealthKit.Output;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Primitives;

namespace HealthKit.Probing;

/// <summary>
/// The one set of answers every HTTP door gives: what an anonymous prober gets (the status code,
/// <c>Cache-Control: no-store</c> and a body that says only pass, warn or fail), <c>Allow</c> for OPTIONS and 405,
/// the refusals (405, 404, 400, 431, 505). Written through ASP.NET Core by the first middleware, and byte for byte,
/// with <c>Date</c> and <c>Connection: close</c>, by the doors that own their bytes (Kestrel's connection door, the
/// probe listener). The bodies are preallocated, so a probe answered from the cache allocates nothing here.
/// </summary>
internal static class ProbeAnswers
{
    /// <summary>Enough for the longest head <see cref="WriteHead"/> produces (about 220 bytes).</summary>
    public const int MaxHeadLength = 512;

    public const string HealthJson = "application/health+json";
    public const string TextPlain = "text/plain; charset=utf-8";

    private static readonly byte[] Pass = """{"status":"pass"}"""u8.ToArray();
    private static readonly byte[] Warn = """{"status":"warn"}"""u8.ToArray();
    private static readonly byte[] Fail = """{"status":"fail"}"""u8.ToArray();
    private static readonly byte[] HealthyText = "Healthy"u8.ToArray();
    private static readonly byte[] DegradedText = "Degraded"u8.ToArray();
    private static readonly byte[] UnhealthyText = "Unhealthy"u8.ToArray();

    private static readonly byte[] HealthJsonType = Encoding.ASCII.GetBytes(HealthJson);
    private static readonly byte[] TextPlainType = Encoding.ASCII.GetBytes(TextPlain);
    private static readonly byte[] HtmlType = Encoding.ASCII.GetBytes(StatusPage.ContentType);

    private static readonly StringValues NoStore = new("no-store");
    /// <summary>The <c>Allow</c> header of the status page (for people: GET and HEAD).</summary>
    private const string PageAllow = "GET, HEAD";

    private static readonly StringValues Allowed = new(ProbeMethod.Allow);
    private static readonly StringValues PageAllowed = new(PageAllow);
    private static readonly byte[] AllowValue = Encoding.ASCII.GetBytes(ProbeMethod.Allow);
    private static readonly byte[] PageAllowValue = Encoding.ASCII.GetBytes(PageAllow);

    public static Task WriteAsync(HttpContext context, HealthStatus status)
    {
        var statusCode = status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        var body = Body(status, WantsPlainText(context.Request.Headers.Accept), out var contentType);
        return WriteBodyAsync(context, statusCode, body, contentType);
    }

    /// <summary>
    /// The preallocated anonymous body for <paramref name="status"/> and its type: one source for every HTTP door
    /// (the middleware here, the probe listener's byte-level writer), so they cannot drift apart.
    /// </summary>
    public static byte[] Body(HealthStatus status, bool plainText, out string contentType)
    {
        if (plainText)
        {
            contentType = TextPlain;
            return status switch
            {
                HealthStatus.Healthy => HealthyText,
                HealthStatus.Degraded => DegradedText,
                _ => UnhealthyText,
            };
        }

        contentType = HealthJson;
        return status switch
        {
            HealthStatus.Healthy => Pass,
            HealthStatus.Degraded => Warn,
            _ => Fail,
        };
    }

    /// <summary>
    /// Status, <c>Cache-Control: no-store</c>, type and length, and the body for GET. HEAD gets the same head without
    /// the body; OPTIONS the same status with <c>Allow</c> and no content (its own <c>Content-Length: 0</c>, since an
    /// OPTIONS answer, unlike HEAD's, is framed by its own length). The caller has already refused any other method.
    /// </summary>
    public static Task WriteBodyAsync(HttpContext context, int statusCode, byte[] body, string contentType)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        response.Headers.CacheControl = NoStore;
        var verb = ProbeMethod.Parse(context.Request.Method);
        if (verb == ProbeVerb.Options)
        {
            response.Headers.Allow = Allowed;
            response.ContentLength = 0;
            return Task.CompletedTask;
        }

        response.ContentType = contentType;
        response.ContentLength = body.Length;
        return ProbeMethod.HasBody(verb)
            ? response.Body.WriteAsync(body, 0, body.Length, context.RequestAborted)
            : Task.CompletedTask;
    }

    /// <summary>405 with the methods the path takes: GET, HEAD and OPTIONS on a probe path, GET and HEAD on the status page.</summary>
    public static void WriteMethodNotAllowed(HttpContext context, bool statusPage = false)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status405MethodNotAllowed;
        response.Headers.Allow = statusPage ? PageAllowed : Allowed;
        response.Headers.CacheControl = NoStore;
        response.ContentLength = 0;
    }

    /// <summary>
    /// Plain text only when the caller asks for it and not for JSON, so tools that expect ASP.NET Core's one-word
    /// answer get it while browsers, balancers and <c>*/*</c> get the health+json document.
    /// </summary>
    public static bool WantsPlainText(StringValues accept)
    {
        if (accept.Count == 0)
        {
            return false;
        }

        var plain = false;
        foreach (var value in accept)
        {
            if (value is null)
            {
                continue;
            }

            if (value.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            plain |= value.Contains("text/plain", StringComparison.OrdinalIgnoreCase);
        }

        return plain;
    }

    /// <summary>Gets the <c>Allow</c> value of a probe path, as bytes.</summary>
    public static ReadOnlySpan<byte> AllowBytes => AllowValue;

    /// <summary>Gets the <c>Allow</c> value of the status page, as bytes.</summary>
    public static ReadOnlySpan<byte> PageAllowBytes => PageAllowValue;

    /// <summary>The status code of a refusal.</summary>
    public static int StatusCode(ProbeRefusal refusal) => refusal switch
    {
        ProbeRefusal.MethodNotAllowed => StatusCodes.Status405MethodNotAllowed,
        ProbeRefusal.NotFound => StatusCodes.Status404NotFound,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary><see cref="WantsPlainText(StringValues)"/> on the bytes of an Accept header.</summary>
    public static bool WantsPlainText(ReadOnlySpan<byte> accept) => !Contains(accept, "json"u8) && Contains(accept, "text/plain"u8);

    /// <summary>
    /// Writes an HTTP/1.1 response head into <paramref name="destination"/> (at least <see cref="MaxHeadLength"/>
    /// bytes) and returns its length: the status line, <c>Date</c> (<paramref name="date"/>, RFC 1123),
    /// <c>Cache-Control: no-store</c>, <c>Allow</c> when given, the type and length of the body, and
    /// <c>Connection: close</c>, since the doors that write bytes answer one request per connection.
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

    /// <summary>
    /// Writes a whole probe answer (head and, for GET, body) for <paramref name="verb"/> and
    /// <paramref name="status"/>, as the first middleware would answer it; returns its length.
    /// </summary>
    public static int WriteProbe(Span<byte> destination, ProbeVerb verb, HealthStatus status, bool plainText, ReadOnlySpan<byte> date)
    {
        var statusCode = status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;
        if (verb == ProbeVerb.Options)
        {
            return WriteHead(destination, statusCode, null, 0, AllowBytes, date);
        }

        var body = Body(status, plainText, out var contentType);
        var length = WriteHead(destination, statusCode, contentType, body.Length, ReadOnlySpan<byte>.Empty, date);
        if (ProbeMethod.HasBody(verb))
        {
            body.CopyTo(destination[length..]);
            length += body.Length;
        }

        return length;
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
        HealthJson => HealthJsonType,
        TextPlain => TextPlainType,
        StatusPage.ContentType => HtmlType,
        _ => Encoding.ASCII.GetBytes(contentType),
    };

    private static void Append(Span<byte> destination, ref int written, ReadOnlySpan<byte> value)
    {
        value.CopyTo(destination[written..]);
        written += value.Length;
    }

    private static bool Contains(ReadOnlySpan<byte> value, ReadOnlySpan<byte> part)
    {
        for (var i = 0; i + part.Length <= value.Length; i++)
        {
            if (Ascii.EqualsIgnoreCase(value.Slice(i, part.Length), part))
            {
                return true;
            }
        }

        return false;
    }
}
