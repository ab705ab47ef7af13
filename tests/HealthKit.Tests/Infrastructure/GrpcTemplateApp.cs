// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// An app shaped like <c>dotnet new grpc</c> (<c>Kestrel:EndpointDefaults:Protocols=Http2</c>, <c>AddGrpc()</c>, a gRPC
/// service and the template's <c>GET /</c>), locked down the way production apps are: AllowedHosts restricted to a
/// real host name and a fallback policy requiring an authenticated user. With <c>ownHealthService</c>, the app also
/// maps grpc-dotnet's own health service, knowing the service <see cref="AppService"/>, so tests see what HealthKit
/// answers and what it leaves to the app. Optionally on TLS with a self-signed certificate (HTTP/2 by ALPN).
/// </summary>
public static class GrpcTemplateApp
{
    public const string AllowedHost = "www.example.com";

    /// <summary>A service name the app's own health service knows and HealthKit does not.</summary>
    public const string AppService = "greet.Greeter";

    public static Task<KestrelApp> StartAsync(
        Action<DeployHealthBuilder>? health = null,
        IDictionary<string, string?>? configuration = null,
        X509Certificate2? certificate = null,
        bool ownHealthService = false,
        Action<WebApplicationBuilder>? configureBuilder = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["AllowedHosts"] = AllowedHost,
            ["Kestrel:EndpointDefaults:Protocols"] = "Http2",
        };
        if (configuration is not null)
        {
            foreach (var pair in configuration)
            {
                settings[pair.Key] = pair.Value;
            }
        }

        return KestrelApp.StartAsync(
            builder =>
            {
                var services = builder.Services;
                services.AddGrpc();
                var own = new HealthServiceImpl();
                own.SetStatus(AppService, HealthCheckResponse.Types.ServingStatus.Serving);
                services.AddSingleton(own);
                services.AddDataProtection()
                    .SetApplicationName("healthkit-grpc")
                    .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(AppContext.BaseDirectory, "shared-keys")));
                services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
                services.AddAuthorization(o => o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
                if (certificate is not null)
                {
                    builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
                    {
                        l.Protocols = HttpProtocols.Http2;
                        l.UseHttps(certificate);
                    }));
                }

                var healthBuilder = services.AddDeployHealth();
                health?.Invoke(healthBuilder);
                configureBuilder?.Invoke(builder);
            },
            app =>
            {
                app.UseAuthentication();
                app.UseAuthorization();
                if (ownHealthService)
                {
                    app.MapGrpcService<HealthServiceImpl>().AllowAnonymous();
                }

                app.MapGet("/", () => "Communication with gRPC endpoints must be made through a gRPC client.");
            },
            settings);
    }

    /// <summary>
    /// A channel as a prober opens one: straight to the listening address (so <c>:authority</c> is an IP, which host
    /// filtering refuses), HTTP/2 with prior knowledge on plaintext, any certificate accepted on TLS.
    /// <paramref name="authority"/> replaces <c>:authority</c>, as a client of the app's own services sends it.
    /// </summary>
    public static GrpcChannel Channel(KestrelApp app, string? authority = null)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
        };
        HttpMessageHandler outer = authority is null ? handler : new AuthorityHandler(authority) { InnerHandler = handler };
        return GrpcChannel.ForAddress(app.Address, new GrpcChannelOptions { HttpHandler = outer, DisposeHttpClient = true });
    }

    /// <summary>A self-signed server certificate for 127.0.0.1, made for the test.</summary>
    public static X509Certificate2 MakeCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pfx), password: null);
    }

    private sealed class AuthorityHandler(string authority) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Host = authority;
            return base.SendAsync(request, cancellationToken);
        }
    }
}
