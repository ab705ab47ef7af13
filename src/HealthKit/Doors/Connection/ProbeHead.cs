// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;
using HealthKit.Doors.Http;

namespace HealthKit.Doors.Connection;

/// <summary>
/// Reads the first request head of a connection to find the one kind of probe Kestrel's HTTP/1 parser refuses before
/// any middleware runs: <c>GET|HEAD|OPTIONS {probe path} HTTP/1.1</c>, or <c>OPTIONS * HTTP/1.1</c>, without a
/// <c>Host</c> header (HAProxy's <c>http-check send ... ver HTTP/1.1</c> without <c>hdr host</c>, Varnish's hand-written
/// <c>.request</c>). Anything else is <see cref="ProbeHeadResult.Pass"/>, decided from as few bytes as possible so an
/// ordinary request costs a few byte comparisons. Like Kestrel, it needs CRLF line ends and an origin-form target; a
/// target with percent-encoding, a bare LF or an oversized head is passed to Kestrel, which answers it as always.
/// </summary>
internal static class ProbeHead
{
    /// <summary>The most of a head read before giving up: probers send a few hundred bytes.</summary>
    public const int MaxLength = 4096;

    private const int MaxPathLength = 256;

    private static ReadOnlySpan<byte> Http11 => "HTTP/1.1\r\n"u8;

    private static ReadOnlySpan<byte> Host => "host"u8;

    /// <summary>Decides what to do with the head bytes received so far.</summary>
    /// <param name="head">The start of the connection's input, at most <see cref="MaxLength"/> bytes of it.</param>
    /// <param name="paths">The probe paths.</param>
    /// <param name="probe">The probe to answer, when the result is <see cref="ProbeHeadResult.Answer"/>.</param>
    public static ProbeHeadResult Inspect(ReadOnlySpan<byte> head, ProbePaths paths, out ConnectionProbe probe)
    {
        probe = default;
        if (head.IsEmpty)
        {
            return ProbeHeadResult.NeedMore;
        }

        // TLS (0x16), the HTTP/2 preface ("PRI") and nearly every request end here, at the first byte.
        if (head[0] is not ((byte)'G' or (byte)'H' or (byte)'O'))
        {
            return ProbeHeadResult.Pass;
        }

        var space = head.IndexOf((byte)' ');
        if (space < 0)
        {
            return head.Length < "OPTIONS ".Length && IsMethodPrefix(head) ? ProbeHeadResult.NeedMore : ProbeHeadResult.Pass;
        }

        var verb = ProbeMethod.Parse(head[..space]);
        if (verb == ProbeVerb.Other)
        {
            return ProbeHeadResult.Pass;
        }

        var rest = head[(space + 1)..];
        var targetEnd = rest.IndexOf((byte)' ');
        if (targetEnd < 0)
        {
            return CouldBeProbeTarget(rest, paths) && head.Length < MaxLength ? ProbeHeadResult.NeedMore : ProbeHeadResult.Pass;
        }

        var kind = MatchTarget(rest[..targetEnd], verb, paths);
        if (kind == ProbeKind.None)
        {
            return ProbeHeadResult.Pass;
        }

        // HTTP/1.0 without Host is valid and reaches the probe middleware; only HTTP/1.1 needs this door.
        rest = rest[(targetEnd + 1)..];
        if (rest.Length < Http11.Length)
        {
            return Http11.StartsWith(rest) ? ProbeHeadResult.NeedMore : ProbeHeadResult.Pass;
        }

        if (!rest.StartsWith(Http11))
        {
            return ProbeHeadResult.Pass;
        }

        rest = rest[Http11.Length..];
        while (true)
        {
            var lineEnd = rest.IndexOf((byte)'\n');
            if (lineEnd < 0)
            {
                return head.Length < MaxLength ? ProbeHeadResult.NeedMore : ProbeHeadResult.Pass;
            }

            if (lineEnd == 0 || rest[lineEnd - 1] != (byte)'\r')
            {
                return ProbeHeadResult.Pass;
            }

            var line = rest[..(lineEnd - 1)];
            if (line.IsEmpty)
            {
                probe = new ConnectionProbe(verb, kind);
                return ProbeHeadResult.Answer;
            }

            // A Host header, of any value, means Kestrel parses the request and the probe middleware answers it.
            if (line.Length > Host.Length && line[Host.Length] == (byte)':' && Ascii.EqualsIgnoreCase(line[..Host.Length], Host))
            {
                return ProbeHeadResult.Pass;
            }

            rest = rest[(lineEnd + 1)..];
        }
    }

    private static bool IsMethodPrefix(ReadOnlySpan<byte> head) =>
        "GET"u8.StartsWith(head) || "HEAD"u8.StartsWith(head) || "OPTIONS"u8.StartsWith(head);

    private static ProbeKind MatchTarget(ReadOnlySpan<byte> target, ProbeVerb verb, ProbePaths paths)
    {
        if (target.Length == 1 && target[0] == (byte)'*')
        {
            return verb == ProbeVerb.Options ? ProbeKind.Readiness : ProbeKind.None;
        }

        var query = target.IndexOf((byte)'?');
        var path = query < 0 ? target : target[..query];
        if (path.IsEmpty || path[0] != (byte)'/' || path.Length > MaxPathLength || path.IndexOf((byte)'%') >= 0 || !Ascii.IsValid(path))
        {
            return ProbeKind.None;
        }

        Span<char> chars = stackalloc char[path.Length];
        Ascii.ToUtf16(path, chars, out _);
        var kind = paths.Match(chars);

        // The status page is for people with browsers, which always send Host.
        return kind is ProbeKind.Readiness or ProbeKind.Liveness ? kind : ProbeKind.None;
    }

    /// <summary>Whether a target still arriving could become a probe target: only then is it worth waiting for.</summary>
    private static bool CouldBeProbeTarget(ReadOnlySpan<byte> partial, ProbePaths paths)
    {
        if (partial.IsEmpty || (partial.Length == 1 && partial[0] == (byte)'*'))
        {
            return true;
        }

        var readiness = paths.Readiness;
        var length = Math.Min(partial.Length, readiness.Length);
        for (var i = 0; i < length; i++)
        {
            if (char.ToLowerInvariant((char)partial[i]) != char.ToLowerInvariant(readiness[i]))
            {
                return false;
            }
        }

        return partial.Length <= MaxPathLength;
    }
}
