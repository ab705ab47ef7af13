// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;

namespace HealthKit.Probing;

/// <summary>
/// The one HTTP/1 request-head reader of the doors that read bytes themselves (Kestrel's connection door, HealthKit's
/// probe listener): request line and headers up to the empty line, no body. What it accepts beyond Kestrel's parser is
/// named by <see cref="ProbeLeniency"/>; everything else is the same for both doors.
/// </summary>
internal static class ProbeHeadReader
{
    /// <summary>The most of a head a door reads: probers send a few hundred bytes.</summary>
    public const int MaxLength = 4096;

    /// <summary>The longest probe path worth waiting for.</summary>
    public const int MaxPathLength = 256;

    private static ReadOnlySpan<byte> Host => "host"u8;

    private static ReadOnlySpan<byte> Accept => "accept"u8;

    private static ReadOnlySpan<byte> UserAgent => "user-agent"u8;

    /// <summary>
    /// Whether the bytes so far may still become a probe (a probe method, then <c>*</c> or a prefix of a probe path):
    /// decided from as few bytes as possible, so an ordinary request costs a few byte comparisons. TLS records (0x16),
    /// the HTTP/2 preface and nearly every request are decided at the first byte.
    /// </summary>
    public static bool MayBeProbe(ReadOnlySpan<byte> data, ProbeRoute route)
    {
        if (data.IsEmpty)
        {
            return true;
        }

        if (data[0] is not ((byte)'G' or (byte)'H' or (byte)'O'))
        {
            return false;
        }

        var space = data.IndexOf((byte)' ');
        if (space < 0)
        {
            return data.Length < "OPTIONS ".Length && ("GET"u8.StartsWith(data) || "HEAD"u8.StartsWith(data) || "OPTIONS"u8.StartsWith(data));
        }

        if (ProbeMethod.Parse(data[..space]) == ProbeVerb.Other)
        {
            return false;
        }

        var target = data[(space + 1)..];
        var end = target.IndexOf((byte)' ');
        if (end < 0)
        {
            return target.Length <= MaxPathLength && route.CouldBeProbeTarget(target);
        }

        // The whole target is there: "*", or a probe path (a query does not count).
        target = target[..end];
        var query = target.IndexOfAny((byte)'?', (byte)'#');
        return (target.Length == 1 && target[0] == (byte)'*')
            || route.Match(query < 0 ? target : target[..query], statusPage: false) != ProbeKind.None;
    }

    /// <summary>Reads a request head from the start of <paramref name="data"/>.</summary>
    public static ProbeHeadParse Read(ReadOnlySpan<byte> data, ProbeLeniency leniency, out ProbeHead head)
    {
        head = default;
        var bareLf = (leniency & ProbeLeniency.BareLineFeed) != 0;
        var lineEnd = data.IndexOf((byte)'\n');
        if (lineEnd < 0)
        {
            return ProbeHeadParse.Incomplete;
        }

        if (!TryLine(data, lineEnd, bareLf, out var line))
        {
            return ProbeHeadParse.Malformed;
        }

        var firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0)
        {
            return ProbeHeadParse.Malformed;
        }

        var afterMethod = line[(firstSpace + 1)..];
        var secondSpace = afterMethod.IndexOf((byte)' ');
        if (secondSpace <= 0)
        {
            return ProbeHeadParse.Malformed;
        }

        var target = afterMethod[..secondSpace];
        var version = afterMethod[(secondSpace + 1)..];
        if (version.Length != 8 || !version.StartsWith("HTTP/"u8))
        {
            return ProbeHeadParse.Malformed;
        }

        var http11 = version.SequenceEqual("HTTP/1.1"u8);
        if (!http11 && !version.SequenceEqual("HTTP/1.0"u8))
        {
            return ProbeHeadParse.UnsupportedVersion;
        }

        var targetStart = firstSpace + 1;
        Range path;
        var asterisk = false;
        if (target.SequenceEqual("*"u8))
        {
            asterisk = true;
            path = new Range(targetStart, targetStart);
        }
        else if (target[0] == (byte)'/')
        {
            path = new Range(targetStart, targetStart + PathLength(target));
        }
        else if ((leniency & ProbeLeniency.AbsoluteForm) != 0 && AuthorityEnd(target) is var authorityEnd and > 0)
        {
            // Absolute form: the path starts after the authority ("http://10.0.0.5:8081/health" is "/health").
            var rest = target[authorityEnd..];
            path = new Range(targetStart + authorityEnd, targetStart + authorityEnd + PathLength(rest));
        }
        else
        {
            return ProbeHeadParse.Malformed;
        }

        var accept = default(Range);
        var userAgent = default(Range);
        var host = false;
        var offset = lineEnd + 1;
        while (true)
        {
            var next = data[offset..].IndexOf((byte)'\n');
            if (next < 0)
            {
                return ProbeHeadParse.Incomplete;
            }

            if (!TryLine(data[offset..], next, bareLf, out var header))
            {
                return ProbeHeadParse.Malformed;
            }

            if (header.IsEmpty)
            {
                head = new ProbeHead(new Range(0, firstSpace), path, accept, userAgent, asterisk, http11, host, offset + next + 1);
                return ProbeHeadParse.Complete;
            }

            var colon = header.IndexOf((byte)':');
            if (colon <= 0)
            {
                return ProbeHeadParse.Malformed;
            }

            var name = header[..colon];

            // A Host header of any value: on the main port Kestrel parses the request and the middleware answers it.
            host |= Ascii.EqualsIgnoreCase(name, Host);
            if (Ascii.EqualsIgnoreCase(name, Accept))
            {
                accept = ValueRange(header, offset, colon);
            }
            else if (Ascii.EqualsIgnoreCase(name, UserAgent))
            {
                // The prober's identity for the ledger (kube-probe/1.31, ELB-HealthChecker/2.0); the first one counts.
                userAgent = userAgent.Equals(default(Range)) ? ValueRange(header, offset, colon) : userAgent;
            }

            offset += next + 1;
        }
    }

    /// <summary>The range of a header's value without its surrounding spaces, in the head that starts the line at <paramref name="offset"/>.</summary>
    private static Range ValueRange(ReadOnlySpan<byte> header, int offset, int colon)
    {
        var value = header[(colon + 1)..];
        var leading = value.Length - value.TrimStart((byte)' ').Length;
        var valueStart = offset + colon + 1 + leading;
        return new Range(valueStart, valueStart + value.Trim((byte)' ').Length);
    }

    /// <summary>The line ending at the LF at <paramref name="lf"/>, without its CR; false for a bare LF unless allowed.</summary>
    private static bool TryLine(ReadOnlySpan<byte> data, int lf, bool bareLf, out ReadOnlySpan<byte> line)
    {
        if (lf > 0 && data[lf - 1] == (byte)'\r')
        {
            line = data[..(lf - 1)];
            return true;
        }

        line = data[..lf];
        return bareLf;
    }

    private static int PathLength(ReadOnlySpan<byte> target)
    {
        var query = target.IndexOfAny((byte)'?', (byte)'#');
        return query < 0 ? target.Length : query;
    }

    /// <summary>Where the path of an absolute-form target starts, or -1 when the target is not one.</summary>
    private static int AuthorityEnd(ReadOnlySpan<byte> target)
    {
        int schemeLength;
        if (target.StartsWith("http://"u8))
        {
            schemeLength = 7;
        }
        else if (target.StartsWith("https://"u8))
        {
            schemeLength = 8;
        }
        else
        {
            return -1;
        }

        var slash = target[schemeLength..].IndexOf((byte)'/');
        return slash < 0 ? -1 : schemeLength + slash;
    }
}
