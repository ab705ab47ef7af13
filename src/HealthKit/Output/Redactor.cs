// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text.RegularExpressions;

namespace HealthKit.Output;

/// <summary>
/// Strips what must not leave the process even for an authorized caller: connection-string secrets and hosts,
/// credentials in URLs, and network endpoints (Npgsql and StackExchange.Redis put host names, addresses and ports
/// in their messages). What remains says what failed without saying where or with what.
/// </summary>
internal static partial class Redactor
{
    private const string Hidden = "***";

    public static string Redact(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }

        // Only the first line: a message never needs more, and a stack trace is never shown.
        var newline = text.AsSpan().IndexOfAny('\r', '\n');
        if (newline >= 0)
        {
            text = text[..newline];
        }

        text = SecretPair().Replace(text, m => m.Groups["key"].Value + "=" + Hidden);
        text = UrlCredentials().Replace(text, "${scheme}://" + Hidden + "@");
        text = Endpoint().Replace(text, Hidden);
        return text.Length <= 500 ? text : text[..500] + "…";
    }

    [GeneratedRegex(
        @"(?<key>password|pwd|passwd|user\s?id|uid|username|user|host|server|data\s?source|address|addr|endpoint|database|initial\s?catalog|accountkey|sharedaccesskey|access\s?key|secret|token|api\s?key)\s*=\s*(""[^""]*""|'[^']*'|[^;,\s]+)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretPair();

    [GeneratedRegex(@"(?<scheme>[a-z][a-z0-9+.-]*)://[^/\s@]+@", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex UrlCredentials();

    // IPv4 with optional port, bracketed IPv6 with optional port, and host:port (a name with a dot, or localhost).
    [GeneratedRegex(
        @"\b\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?\b|\[[0-9a-f:.]+\](:\d{1,5})?|\b(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+):\d{1,5}\b|\b[a-z0-9-]+(\.[a-z0-9-]+)*\.(internal|local|lan|corp|com|net|org|io|cloud|amazonaws\.com)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Endpoint();
}
