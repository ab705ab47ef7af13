// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Text;
using BenchmarkDotNet.Attributes;
using HealthKit.Probing;
using Microsoft.Extensions.Options;

namespace HealthKit.Benchmarks;

/// <summary>
/// The connection door's decision alone, on the bytes of a connection's first request head: what every new
/// connection pays before Kestrel sees it. An ordinary request is decided at its first bytes; a probe with a Host
/// header is read to its Host line; the probe the door answers is read to its end.
/// </summary>
[MemoryDiagnoser]
public class ProbeHeadBenchmarks
{
    private static readonly byte[] Browser = Encoding.ASCII.GetBytes(
        "GET /orders?page=2 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Encoding: gzip, deflate, br\r\nCookie: .AspNetCore.Session=CfDJ8abc\r\n\r\n");

    private static readonly byte[] Post = Encoding.ASCII.GetBytes(
        "POST /api/orders HTTP/1.1\r\nHost: shop.example\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");

    private static readonly byte[] ProbeWithHost = Encoding.ASCII.GetBytes(
        "GET /health HTTP/1.1\r\nHost: 10.0.1.17\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept-Encoding: gzip, compressed\r\nConnection: close\r\n\r\n");

    private static readonly byte[] ProbeWithoutHost = Encoding.ASCII.GetBytes(
        "GET /health HTTP/1.1\r\nUser-Agent: HAProxy\r\n\r\n");

    private readonly ProbeRoute _route = new(Options.Create(new DeployHealthOptions()));

    [Benchmark(Baseline = true, Description = "GET /orders from a browser (passed)")]
    public int BrowserGet() => Decide(Browser);

    [Benchmark(Description = "POST /api/orders (passed)")]
    public int ApiPost() => Decide(Post);

    [Benchmark(Description = "GET /health with Host, ALB (passed)")]
    public int ProbeHostPresent() => Decide(ProbeWithHost);

    [Benchmark(Description = "GET /health HTTP/1.1 without Host, HAProxy (answered)")]
    public int ProbeHostMissing() => Decide(ProbeWithoutHost);

    /// <summary>What the connection door runs on a head: the first-bytes filter, then the reader without leniencies.</summary>
    private int Decide(byte[] head) =>
        ProbeHeadReader.MayBeProbe(head, _route) ? (int)ProbeHeadReader.Read(head, ProbeLeniency.None, out _) : -1;
}
