// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Doors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Primitives;

namespace HealthKit.Output;

/// <summary>
/// Writes what an anonymous prober gets: the status code, <c>Cache-Control: no-store</c> and a body that says
/// only pass, warn or fail. The bodies are preallocated, so a probe answered from the cache allocates nothing here.
/// </summary>
internal static class ProbeResponse
{
    public const string HealthJson = "application/health+json";
    public const string TextPlain = "text/plain; charset=utf-8";

    private static readonly byte[] Pass = """{"status":"pass"}"""u8.ToArray();
    private static readonly byte[] Warn = """{"status":"warn"}"""u8.ToArray();
    private static readonly byte[] Fail = """{"status":"fail"}"""u8.ToArray();
    private static readonly byte[] HealthyText = "Healthy"u8.ToArray();
    private static readonly byte[] DegradedText = "Degraded"u8.ToArray();
    private static readonly byte[] UnhealthyText = "Unhealthy"u8.ToArray();

    private static readonly StringValues NoStore = new("no-store");
    private static readonly StringValues Allowed = new(ProbeMethod.Allow);
    private static readonly StringValues PageAllowed = new("GET, HEAD");

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
}
