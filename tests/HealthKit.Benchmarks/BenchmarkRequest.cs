// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace HealthKit.Benchmarks;

/// <summary>
/// The features Kestrel gives a request, made fresh for each one (so every scenario pays the same, visible in the
/// baseline), with the response body going to <see cref="Stream.Null"/> or, to check an answer, a buffer.
/// </summary>
public static class BenchmarkRequest
{
    public const string ProbeHost = "10.0.3.7:8080";

    /// <summary>Creates a request; <paramref name="viaBalancer"/> adds the X-Forwarded-For and -Proto a TLS-terminating balancer sends, <paramref name="userAgent"/> a prober's identity.</summary>
    public static IFeatureCollection Create(string path, string host = ProbeHost, string method = "GET", Stream? body = null, bool viaBalancer = false, string? userAgent = null)
    {
        var request = new HttpRequestFeature
        {
            Protocol = "HTTP/1.1",
            Scheme = "http",
            Method = method,
            PathBase = string.Empty,
            Path = path,
            QueryString = string.Empty,
            RawTarget = path,
        };
        request.Headers.Host = host;
        if (userAgent is not null)
        {
            request.Headers.UserAgent = userAgent;
        }
        if (viaBalancer)
        {
            request.Headers["X-Forwarded-For"] = "203.0.113.7";
            request.Headers["X-Forwarded-Proto"] = "https";
        }

        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(request);
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(body ?? Stream.Null));
        features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature());
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            RemoteIpAddress = IPAddress.Loopback,
            LocalIpAddress = IPAddress.Loopback,
            RemotePort = 40000,
            LocalPort = 8080,
        });
        return features;
    }
}
