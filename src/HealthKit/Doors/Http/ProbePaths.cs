// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace HealthKit.Doors.Http;

/// <summary>
/// Decides whether a request path is one of the probe paths. Only the exact paths match, compared
/// case-insensitively as ASP.NET Core routing does, with an optional trailing slash as routing allows;
/// anything else (<c>/healthz</c>, <c>/health/x</c>, <c>/health%2Flive</c>, <c>//health</c>) goes to the app.
/// </summary>
internal sealed class ProbePaths
{
    private readonly string _readiness;
    private readonly string _live;
    private readonly bool _statusPage;

    public ProbePaths(IOptions<DeployHealthOptions> options)
    {
        _readiness = options.Value.Path.TrimEnd('/');
        _live = _readiness + "/live";

        // The page exists only where someone can be allowed to see it; otherwise {Path}/ui is the app's, like /health/x.
        // DetailsForLoopback counts only on the loopback probe listener, which matches its own paths.
        _statusPage = !string.IsNullOrWhiteSpace(options.Value.DetailsPolicy);
    }

    public string Readiness => _readiness;

    public string Liveness => _live;

    public ProbeKind Match(PathString path) => Match(path.Value.AsSpan());

    /// <summary>The same match on a decoded path, for doors that read the request line themselves.</summary>
    public ProbeKind Match(ReadOnlySpan<char> value)
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

        if (rest.IsEmpty)
        {
            return ProbeKind.Readiness;
        }

        if (rest.Equals("/live", StringComparison.OrdinalIgnoreCase))
        {
            return ProbeKind.Liveness;
        }

        if (rest.Equals("/ready", StringComparison.OrdinalIgnoreCase))
        {
            return ProbeKind.Readiness;
        }

        return _statusPage && rest.Equals("/ui", StringComparison.OrdinalIgnoreCase) ? ProbeKind.StatusPage : ProbeKind.None;
    }
}
