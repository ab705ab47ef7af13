// Copyright (c) HealthKit contributors. Licensed under the MIT License.

namespace HealthKit.Probing;

/// <summary>
/// The one rule every HTTP door applies to a request method. Methods are case-sensitive (RFC 9110, section 9.1), so
/// only <c>GET</c>, <c>HEAD</c> and <c>OPTIONS</c> exactly are probes; <c>get</c> or <c>head</c> are unknown methods
/// and get 405 like <c>POST</c>. ASP.NET Core's <c>HttpMethods.IsHead</c> compares case-insensitively while Kestrel
/// treats only <c>HEAD</c> as body-less: reading <c>head</c> as HEAD left a declared Content-Length unwritten and
/// turned every such probe into a 500.
/// </summary>
internal static class ProbeMethod
{
    /// <summary>The <c>Allow</c> header of a probe path's 405 and OPTIONS answers.</summary>
    public const string Allow = "GET, HEAD, OPTIONS";

    /// <summary>Reads a method as ASP.NET Core gives it (Kestrel interns the known ones, so this is a reference check).</summary>
    public static ProbeVerb Parse(string? method)
    {
        if (ReferenceEquals(method, "GET") || string.Equals(method, "GET", StringComparison.Ordinal))
        {
            return ProbeVerb.Get;
        }

        if (string.Equals(method, "HEAD", StringComparison.Ordinal))
        {
            return ProbeVerb.Head;
        }

        return string.Equals(method, "OPTIONS", StringComparison.Ordinal) ? ProbeVerb.Options : ProbeVerb.Other;
    }

    /// <summary>Reads a method as it is on the wire, for doors that see bytes before Kestrel parses them.</summary>
    public static ProbeVerb Parse(ReadOnlySpan<byte> method)
    {
        if (method.SequenceEqual("GET"u8))
        {
            return ProbeVerb.Get;
        }

        if (method.SequenceEqual("HEAD"u8))
        {
            return ProbeVerb.Head;
        }

        return method.SequenceEqual("OPTIONS"u8) ? ProbeVerb.Options : ProbeVerb.Other;
    }

    /// <summary>
    /// Whether the answer to <paramref name="verb"/> carries the body its Content-Length announces: everything but
    /// exactly HEAD and OPTIONS, since Kestrel, too, leaves out the body of nothing else.
    /// </summary>
    public static bool HasBody(ProbeVerb verb) => verb is not (ProbeVerb.Head or ProbeVerb.Options);

    /// <summary>Whether the status page (for people, GET and HEAD only) takes <paramref name="method"/>.</summary>
    public static bool IsPageMethod(string? method) => Parse(method) is ProbeVerb.Get or ProbeVerb.Head;
}
