// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;

namespace HealthKit.Doors.Command;

/// <summary>
/// <c>dotnet app.dll --health-probe [live|ready] [url]</c>: the application's own executable acts as the container
/// probe, for chiseled and distroless images that have no curl for a Docker HEALTHCHECK. It sends one request over
/// loopback to the running instance and exits 0 on 200, 1 otherwise, within three seconds. It runs as the host starts
/// (<see cref="ProbeCommandLifetime"/>), before any hosted service or the server, so it never binds a port.
/// </summary>
internal static class ProbeCommand
{
    public const string Flag = "--health-probe";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A setting as the probe process can know it before any host exists: the environment variable, else, for HealthKit's
    /// own settings (<c>DeployHealth:Path</c>, <c>DeployHealth:ProbeListener:Port</c>, <c>DeployHealth:ProbeListener:Address</c>), the
    /// app's appsettings.json and appsettings.{environment}.json, so a path or probe port moved in configuration is
    /// probed where the app answers.
    /// </summary>
    public static string? Setting(string name) => Setting(name, Environment.GetEnvironmentVariable, AppContext.BaseDirectory);

    internal static string? Setting(string name, Func<string, string?> variables, string appDirectory)
    {
        var value = variables(name);
        if (value is not null || !name.StartsWith("DeployHealth__", StringComparison.Ordinal))
        {
            return value;
        }

        var environment = variables("ASPNETCORE_ENVIRONMENT") ?? variables("DOTNET_ENVIRONMENT") ?? "Production";
        var settings = new ConfigurationBuilder()
            .SetBasePath(appDirectory)
            .AddJsonFile("appsettings.json", optional: true)
            .AddJsonFile($"appsettings.{environment}.json", optional: true)
            .Build();
        return settings[name.Replace("__", ":", StringComparison.Ordinal)];
    }

    /// <summary>
    /// Returns the probe's target when the process was started as a probe, else <see langword="null"/>. An argument
    /// that is neither a kind nor an absolute URL comes back as a relative URI, for <see cref="Run"/> to reject.
    /// </summary>
    public static Uri? Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        var index = -1;
        for (var i = 0; i < args.Count; i++)
        {
            if (string.Equals(args[i], Flag, StringComparison.OrdinalIgnoreCase))
            {
                index = i;
                break;
            }
        }

        if (index < 0)
        {
            return null;
        }

        var kind = "live";
        string? url = null;
        for (var i = index + 1; i < args.Count && !args[i].StartsWith("--", StringComparison.Ordinal); i++)
        {
            if (string.Equals(args[i], "live", StringComparison.OrdinalIgnoreCase))
            {
                kind = "live";
            }
            else if (string.Equals(args[i], "ready", StringComparison.OrdinalIgnoreCase))
            {
                kind = "ready";
            }
            else
            {
                url = args[i];
            }
        }

        if (url is not null)
        {
            // Never thrown from here: a typo ("redy") would end the probe with an unhandled exception (exit code
            // 134 and a stack trace in the container's health log). Run reports a target it cannot probe.
            return Uri.TryCreate(url, UriKind.Absolute, out var absolute) ? absolute : new Uri(Uri.EscapeDataString(url), UriKind.Relative);
        }

        var path = (environment("DeployHealth__Path") ?? "/health").TrimEnd('/');
        return new Uri($"http://{LocalEndpoint(args, environment)}{path}/{kind}");
    }

    /// <summary>
    /// Where the running instance answers probes over plain HTTP, found the way it binds: HealthKit's probe listener
    /// when <c>DeployHealth:ProbeListener:Port</c> is set (it answers even when the main port cannot); else Kestrel's rule, where
    /// URLs (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>DOTNET_URLS</c>, <c>URLS</c>) override
    /// <c>ASPNETCORE_HTTP_PORTS</c> (which the official images set to 8080: an image that adds URLS must be probed
    /// there); else the images' 8080.
    /// </summary>
    private static string LocalEndpoint(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        if (environment("DeployHealth__ProbeListener__Port") is { } probePort
            && int.TryParse(probePort, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535)
        {
            return $"{ProbeHost(environment("DeployHealth__ProbeListener__Address"))}:{port.ToString(CultureInfo.InvariantCulture)}";
        }

        var urls = UrlsArgument(args) ?? environment("ASPNETCORE_URLS") ?? environment("DOTNET_URLS") ?? environment("URLS");
        if (urls is not null)
        {
            foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
                var colon = url.LastIndexOf(':');
                if (url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && colon > schemeEnd
                    && int.TryParse(url.AsSpan(colon + 1).TrimEnd('/'), NumberStyles.None, CultureInfo.InvariantCulture, out port))
                {
                    return Loopback(port);
                }
            }

            // Only https:// URLs: Kestrel ignores HTTP_PORTS then too, and this probe speaks plain HTTP. The images'
            // default is all that is left to try.
            return Loopback(8080);
        }

        var ports = environment("ASPNETCORE_HTTP_PORTS") ?? environment("DOTNET_HTTP_PORTS") ?? environment("HTTP_PORTS");
        if (ports is not null && int.TryParse(ports.Split(',', ';')[0], NumberStyles.None, CultureInfo.InvariantCulture, out port))
        {
            return Loopback(port);
        }

        return Loopback(8080);
    }

    private static string Loopback(int port) => "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture);

    /// <summary>The probe listener's address as a client reaches it: a wildcard from loopback, else the address itself.</summary>
    private static string ProbeHost(string? address)
    {
        if (address is null || !IPAddress.TryParse(address, out var ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any))
        {
            return "127.0.0.1";
        }

        return ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
    }

    /// <summary><c>--urls X</c> or <c>--urls=X</c> on the probe's own command line, as the host would read it.</summary>
    private static string? UrlsArgument(IReadOnlyList<string> args)
    {
        string? urls = null;
        for (var i = 0; i < args.Count; i++)
        {
            if (string.Equals(args[i], "--urls", StringComparison.OrdinalIgnoreCase) && i + 1 < args.Count)
            {
                urls = args[i + 1];
            }
            else if (args[i].StartsWith("--urls=", StringComparison.OrdinalIgnoreCase))
            {
                urls = args[i]["--urls=".Length..];
            }
        }

        return urls;
    }

    /// <summary>Sends the probe; returns the process exit code.</summary>
    public static int Run(Uri target, TextWriter output)
    {
        if (!target.IsAbsoluteUri || (target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps))
        {
            var given = target.IsAbsoluteUri ? target.ToString() : Uri.UnescapeDataString(target.OriginalString);
            output.WriteLine($"{Flag}: '{given}' is neither live, ready nor an absolute http:// or https:// URL.");
            return 1;
        }

        try
        {
            using var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, ConnectTimeout = Timeout };
            using var client = new HttpClient(handler) { Timeout = Timeout };
            using var response = client.Send(new HttpRequestMessage(HttpMethod.Get, target));
            output.WriteLine($"{target} {(int)response.StatusCode}");
            return response.StatusCode == HttpStatusCode.OK ? 0 : 1;
        }
#pragma warning disable CA1031 // Whatever went wrong, the probe's answer is "unhealthy", as curl -f would say.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            output.WriteLine($"{target} failed: {exception.Message}");
            return 1;
        }
    }
}
