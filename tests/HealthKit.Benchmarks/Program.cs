// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using HealthKit.Benchmarks;

// "serve --mode healthkit|plain" runs the app wrk.sh loads; anything else goes to BenchmarkDotNet
// (for example: --filter '*' --job short).
if (args.Length > 0 && args[0] == "serve")
{
    return await E2eServer.RunAsync(args[1..]);
}

// "startup [--rounds N] [--templates web,webapp,auth]" publishes template apps with and without HealthKit and
// measures their starts (StartupBenchmark).
if (args.Length > 0 && args[0] == "startup")
{
    return await StartupBenchmark.RunAsync(args[1..]);
}

// "evalcpu" compares the CPU time of one evaluation, HealthKit's and the framework's, on a machine too busy for wall times.
if (args.Length > 0 && args[0] == "evalcpu")
{
    return await EvaluationCpu.RunAsync(args[1..]);
}

// "nonprobe [--requests 20000] [--blocks 40]" measures a request that is not a probe with and without HealthKit in
// alternating blocks (NonProbeInterleaved), finer than separate BenchmarkDotNet cases resolve.
if (args.Length > 0 && args[0] == "nonprobe")
{
    return await NonProbeInterleaved.RunAsync(args[1..]);
}

// "overload [--clients 200] [--load-seconds 30] [--kinds block,burn]" loads HealthKit.TestBusyApp with requests that
// block or burn CPU and measures its probes from outside (OverloadBenchmark).
if (args.Length > 0 && args[0] == "overload")
{
    return await OverloadBenchmark.RunAsync(args[1..]);
}

// "fleet [--exchanges 300] [--rounds 5]" measures the fleet board with 3 and 100 instances on a redis-server of its own,
// and how long three real apps take to decide after a fault (FleetBenchmark).
if (args.Length > 0 && args[0] == "fleet")
{
    return await FleetBenchmark.RunAsync(args[1..]);
}

// "probe [--requests 20000] [--blocks 20]" measures benchmark (a)'s cached probe in blocks that take turns, wall and CPU
// time, for a machine too busy for BenchmarkDotNet's wall times (ProbeInterleaved).
if (args.Length > 0 && args[0] == "probe")
{
    return await ProbeInterleaved.RunAsync(args[1..]);
}

// BenchmarkDotNet builds a project per run and gives up after 2 minutes by default, which a busy shared machine exceeds.
BenchmarkSwitcher.FromAssembly(typeof(ProbeBenchmarks).Assembly).Run(args, ManualConfig.Create(DefaultConfig.Instance).WithBuildTimeout(TimeSpan.FromMinutes(10)));
return 0;
