// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace HealthKit.Probing;

/// <summary>
/// What a request is to HealthKit, for every door that speaks HTTP: a request target and a method in, the probe kind
/// and verb out, or the exact refusal. Only the exact paths match, compared case-insensitively as ASP.NET Core routing
/// does, with an optional trailing slash as routing allows; anything else (<c>/healthz</c>, <c>/health/x</c>,
/// <c>/health%2Flive</c>, <c>//health</c>) is not a probe. The same rules on decoded characters (the first
/// middleware) and on the bytes of a request line (the connection door, the probe listener).
/// </summary>
internal sealed class ProbeRoute
{
    private readonly string _readiness;
    private readonly byte[] _readinessBytes;
    private readonly string _live;

    public ProbeRoute(IOptions<DeployHealthOptions> options)
    {
        _readiness = options.Value.Path.TrimEnd('/');
        _readinessBytes = Encoding.ASCII.GetBytes(_readiness);
        _live = _readiness + "/live";

        // The page exists only where someone can be allowed to see it; otherwise {Path}/ui is the app's, like /health/x.
        // ProbeListener:DetailsForLoopback counts only on the loopback probe listener, which says so itself (statusPage: true).
        StatusPageOnMainPort = !string.IsNullOrWhiteSpace(options.Value.DetailsPolicy);
    }

    public string Readiness => _readiness;

    public string Liveness => _live;

    /// <summary>Gets whether <c>{Path}/ui</c> exists on the main port (a details policy is set).</summary>
    public bool StatusPageOnMainPort { get; }

    /// <summary>The main port's match of a decoded path: <c>{Path}/ui</c> as <see cref="StatusPageOnMainPort"/> says.</summary>
    public ProbeKind Match(PathString path) => Match(path.Value.AsSpan(), StatusPageOnMainPort);

    /// <summary>Matches a decoded path; <paramref name="statusPage"/> says whether this door shows <c>{Path}/ui</c>.</summary>
    public ProbeKind Match(ReadOnlySpan<char> value, bool statusPage)
    {
        if (value.Length < _readiness.Length
            || !value.StartsWith(_readiness, StringComparison.OrdinalIgnoreCase))
        {
            return ProbeKind.None;
        }

        var rest = value[_readiness.Length..];
        if (rest.Length > 0 && rest[^1] == '/')
        {
            rest = rest[..^1];
        }

        if (rest.IsEmpty || rest.Equals("/ready", StringComparison.OrdinalIgnoreCase))
        {
            return ProbeKind.Readiness;
        }

        if (rest.Equals("/live", StringComparison.OrdinalIgnoreCase))
        {
            return ProbeKind.Liveness;
        }

        return statusPage && rest.Equals("/ui", StringComparison.OrdinalIgnoreCase) ? ProbeKind.StatusPage : ProbeKind.None;
    }

    /// <summary>
    /// The same match on the path bytes of a request line, as sent (not percent-decoded: <c>/health%2F</c> is not a
    /// probe on any door, since Kestrel would decode it into another path). Non-ASCII bytes never match.
    /// </summary>
    public ProbeKind Match(ReadOnlySpan<byte> path, bool statusPage)
    {
        if (path.Length < _readinessBytes.Length || !Ascii.EqualsIgnoreCase(path[.._readinessBytes.Length], _readinessBytes))
        {
            return ProbeKind.None;
        }

        var rest = path[_readinessBytes.Length..];
        if (rest.Length > 0 && rest[^1] == (byte)'/')
        {
            rest = rest[..^1];
        }

        if (rest.IsEmpty || Ascii.EqualsIgnoreCase(rest, "/ready"u8))
        {
            return ProbeKind.Readiness;
        }

        if (Ascii.EqualsIgnoreCase(rest, "/live"u8))
        {
            return ProbeKind.Liveness;
        }

        return statusPage && Ascii.EqualsIgnoreCase(rest, "/ui"u8) ? ProbeKind.StatusPage : ProbeKind.None;
    }

    /// <summary>
    /// Whether the start of a target still arriving could become a probe target (<c>*</c> or a prefix of the probe
    /// path): only then is it worth waiting for more bytes.
    /// </summary>
    public bool CouldBeProbeTarget(ReadOnlySpan<byte> partial)
    {
        if (partial.IsEmpty || (partial.Length == 1 && partial[0] == (byte)'*'))
        {
            return true;
        }

        var length = Math.Min(partial.Length, _readinessBytes.Length);
        return Ascii.EqualsIgnoreCase(partial[..length], _readinessBytes.AsSpan(0, length));
    }

    /// <summary>
    /// Routes a request: its kind (from <see cref="Match(ReadOnlySpan{byte}, bool)"/>, or readiness for the asterisk
    /// form) and its verb in, the refusal out (<see cref="ProbeRefusal.None"/>: answer it). <c>OPTIONS *</c> asks the
    /// server as a whole (Apache's <c>hcmethod=OPTIONS</c>): readiness. Any other method on <c>*</c> is malformed.
    /// </summary>
    public static ProbeRefusal Refusal(ProbeKind kind, ProbeVerb verb, bool asterisk)
    {
        if (asterisk)
        {
            return verb == ProbeVerb.Options ? ProbeRefusal.None : ProbeRefusal.BadRequest;
        }

        if (kind == ProbeKind.None)
        {
            return ProbeRefusal.NotFound;
        }

        // The status page is for people: GET and HEAD only.
        return verb == ProbeVerb.Other || (verb == ProbeVerb.Options && kind == ProbeKind.StatusPage)
            ? ProbeRefusal.MethodNotAllowed
            : ProbeRefusal.None;
    }

    /// <summary>The name a probe is counted under in <c>healthkit.probes</c>.</summary>
    public static string EndpointName(ProbeKind kind) => kind switch
    {
        ProbeKind.Liveness => "live",
        ProbeKind.StatusPage => "ui",
        _ => "ready",
    };
}
