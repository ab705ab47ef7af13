// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using HealthKit.Output;

namespace HealthKit.Tests.Output;

/// <summary>
/// The redaction of check outputs on message shapes drivers and hand-written checks produce. The real-server tests
/// (<see cref="PostgresRedactionTests"/>, <see cref="RedisRedactionTests"/>) cover the messages as they come; these
/// cover the spellings a test server cannot produce here (host names that do not resolve, password authentication).
/// </summary>
[Trait("Tier", "Fast")]
public sealed class RedactorTests
{
    [Theory]
    [InlineData("Host=db.internal;Port=5432;Username=orders;Password=correct horse battery staple;Database=orders", "correct", "horse", "staple", "db.internal", "orders")]
    [InlineData("Host=pg-primary,pg-replica;Username=app;Password=\"p;w,d\";Timeout=5", "pg-primary", "pg-replica", "p;w,d", "w,d")]
    [InlineData("Server=tcp:sql-prod,1433;User ID=sa;Pwd=Tr0ub4dor&3, Encrypt=True", "sql-prod", "Tr0ub4dor", "&3")]
    [InlineData("redis-cache:6380,password=s3cret,ssl=True,abortConnect=False", "redis-cache", "6380", "s3cret")]
    [InlineData("UnableToConnect on redis-cache:6379/Interactive, Initializing/NotStarted, last: NONE", "redis-cache", "6379")]
    [InlineData("Timeout performing GET, serverEndpoint: cache-0.cache:6379, clientName: orders-api-7f9c6d-x2k4p(SE.Redis-v2.7.27.49176)", "cache-0", "6379", "orders-api-7f9c6d-x2k4p")]
    [InlineData("Failed to connect to [fd00::12]:5432", "fd00::12", "5432")]
    [InlineData("Failed to connect to 10.0.4.17:5432", "10.0.4.17", "5432")]
    [InlineData("GET https://svc:tok3n@api.payments.example.com/v1/health failed", "svc", "tok3n", "api.payments.example.com")]
    [InlineData("postgres://app:hunter2@db:5432/orders refused", "hunter2", "db:5432")]
    [InlineData("AccountName=orders;AccountKey=QmFzZTY0S2V5PT0=;EndpointSuffix=core.windows.net", "QmFzZTY0S2V5PT0=")]
    [InlineData("Name resolution failed for pg-primary.prod.eu-west-1", "pg-primary", "prod.eu-west-1")]
    [InlineData("No connection is active to cache01 for GET", "cache01")]
    [InlineData("28P01: password authentication failed for user \"svc_orders\"", "svc_orders")]
    [InlineData("3D000: database \"shop_prod_eu\" does not exist", "shop_prod_eu")]
    [InlineData("Failed to connect to 2001:db8:85a3:0:0:8a2e:370:7334 port 5432", "2001", "85a3", "8a2e", "7334")]
    [InlineData("Failed to connect to fe80::1ff:fe23:4567:890a%eth0", "fe80", "fe23", "890a", "eth0")]
    [InlineData("Failed to connect to fd00:ab:12::7", "fd00", "ab:12", "::7")]
    [InlineData("S3 refused access key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE")]
    [InlineData("401 with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJlX3Rlc3Q", "eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiJvcHMifQ", "c2lnbmF0dXJlX3Rlc3Q")]
    [InlineData("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJlX3Rlc3Q expired", "eyJzdWIiOiJvcHMifQ", "c2lnbmF0dXJlX3Rlc3Q")]
    public void Redact_SecretsAndEndpoints_Removed(string message, params string[] hidden)
    {
        var redacted = Redactor.Redact(message);

        foreach (var part in hidden)
        {
            Assert.DoesNotContain(part, redacted);
        }

        Assert.Contains("***", redacted);
    }

    // Each shape of issue 16's list, as a driver or a hand-written check would put it, with what must remain.
    [Theory]
    // bare dotted host names (no port, no known suffix), lower case as DNS names are written
    [InlineData("Name resolution failed for pg-primary.prod.eu-west-1", "Name resolution failed for ***")]
    [InlineData("No such host is known (redis.cache)", "No such host is known (***)")]
    [InlineData("Could not resolve orders-db.shop.svc.cluster.local.", "Could not resolve ***.")]
    // bare single-label machine names with a number
    [InlineData("No connection is active to cache01 for GET", "No connection is active to *** for GET")]
    [InlineData("web3 and pg-2 refused", "*** and *** refused")]
    // PostgreSQL's user, role and database names
    [InlineData("28P01: password authentication failed for user \"svc_orders\"", "28P01: password authentication failed for user ***")]
    [InlineData("28000: role \"shop_reader\" does not exist", "28000: role *** does not exist")]
    [InlineData("3D000: database \"shop_prod_eu\" does not exist", "3D000: database *** does not exist")]
    // IPv6 addresses, whole (they used to come out half masked by the host:port pattern)
    [InlineData("Failed to connect to 2001:db8:85a3:0:0:8a2e:370:7334 port 5432", "Failed to connect to *** port 5432")]
    [InlineData("Failed to connect to fe80::1ff:fe23:4567:890a%eth0", "Failed to connect to ***")]
    [InlineData("Failed to connect to fd00:ab:12::7 and 2001:db8::1", "Failed to connect to *** and ***")]
    [InlineData("Peer ::ffff:10.0.0.5 reset the connection", "Peer *** reset the connection")]
    [InlineData("Failed to connect to [fd00::12]:5432", "Failed to connect to ***")]
    // AWS access key ids, long-term and temporary, and the secret that goes with them
    [InlineData("S3 refused access key AKIAIOSFODNN7EXAMPLE", "S3 refused access key ***")]
    [InlineData("STS key ASIAY34FZKBOKMUTVV7A expired", "STS key *** expired")]
    [InlineData("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=***")]
    // bearer and basic credentials, JWTs with or without the scheme
    [InlineData("401 with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJlX3Rlc3Q", "401 with Authorization: Bearer ***")]
    [InlineData("Bearer 8f14e45fceea167a5a36dedd4bea2543 rejected", "Bearer *** rejected")]
    [InlineData("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic ***")]
    [InlineData("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2lnbmF0dXJlX3Rlc3Q expired", "token *** expired")]
    public void Redact_IssueShapes_ReplacedWithWhatRemains(string message, string expected)
    {
        Assert.Equal(expected, Redactor.Redact(message));
    }

    [Theory]
    [InlineData("Healthy")]
    [InlineData("Degraded")]
    [InlineData("Unhealthy")]
    [InlineData("dotnet.exe exited with code 134; see libcoreclr.so and appsettings.json.")]
    [InlineData("Running 1.4.2+9f1c2ab (v1.2.3, net10.0, tls1.2) on .NET 10.0.1.")]
    [InlineData("Took 1.5 s (00:00:01.5000000) of 00:00:05; p95 latency 1.8 s, p99 2.25 s.")]
    [InlineData("Retry later, e.g. after the drain, i.e. in 10 s.")]
    [InlineData("Basic authentication failed; bearer tokens are required.")]
    [InlineData("UTF-8 and utf-8 text on linux-x64 and arm64, base64 and sha256.")]
    [InlineData("grpc.health.v1.Health/Check answered SERVING.")]
    [InlineData("Npgsql.PostgresException (0x80004005): 57P01: terminating connection due to administrator command")]
    [InlineData("The Data Protection key ring returned different data from what was protected.")]
    [InlineData("Sessions are per instance: AddSession stores them in the in-memory distributed cache. Use a shared IDistributedCache (Redis, SQL Server) behind a load balancer.")]
    [InlineData("GET /orders → 500 in 12 ms, expected 200")]
    [InlineData("'outbox' beat 12.5 s ago.")]
    [InlineData("2 migration(s) not applied to the database: 20261124091528_InitialCreate, 20261201080000_AddNotes.")]
    [InlineData("The database is missing: apply the migrations (dotnet ef database update, or Database.Migrate() at start).")]
    [InlineData("orders-db, payments and heartbeat_outbox are the check names.")]
    public void Redact_OrdinaryText_Unchanged(string message)
    {
        Assert.Equal(message, Redactor.Redact(message));
    }

    [Theory]
    [InlineData("Connection refused")]
    [InlineData("Timed out after 2000 ms.")]
    [InlineData("Cancelled at its deadline.")]
    [InlineData("Failure 2 tolerated (counts after 3 in a row and 10 s failing): Connection refused")]
    [InlineData("3 pending migrations: 20261124091528_InitialCreate, 20261201080000_AddNotes")]
    [InlineData("GET /notes → 500 in 12 ms.")]
    [InlineData("System.TimeoutException: Ledger did not answer within 500 ms.")]
    [InlineData("Last success at 12:30:45, 3 failures since.")]
    [InlineData("Could not read appsettings.Production.json.")]
    [InlineData("HTTP/2 only over ipv6; sha256 thumbprint mismatch.")]
    public void Redact_PlainMessage_Unchanged(string message)
    {
        Assert.Equal(message, Redactor.Redact(message));
    }

    [Fact]
    public void Redact_MultilineWithStackTrace_FirstLineOnly()
    {
        var message = "System.InvalidOperationException: The ledger is read-only.\n   at Orders.LedgerCheck.CheckHealthAsync(HealthCheckContext context)\r\n   at HealthKit.Evaluation.HealthEvaluator.RunCheckAsync()";

        Assert.Equal("System.InvalidOperationException: The ledger is read-only.", Redactor.Redact(message));
    }

    [Fact]
    public void Redact_TheMachinesOwnName_Removed()
    {
        var message = $"Lock held by {Environment.MachineName} since 09:12 (pid 4242)";

        var redacted = Redactor.Redact(message);

        Assert.Equal("Lock held by *** since 09:12 (pid 4242)", redacted);
    }

    [Fact]
    public void Redact_VeryLongMessage_CutAt500Characters()
    {
        var redacted = Redactor.Redact(new string('x', 2000));

        Assert.Equal(501, redacted.Length);
        Assert.EndsWith("…", redacted);
    }

    public static TheoryData<string, string> HugeWords => new()
    {
        { "letters", new string('x', 100_000) },
        { "hyphenated", string.Join("-", Enumerable.Repeat("abc", 30_000)) },
        { "dotted, never a host", string.Join(".", Enumerable.Repeat("abc.abc.abc.Abc", 10_000)) },
        { "after bearer", "Bearer " + new string('a', 1_990) },
        { "hex and colons", string.Join(":", Enumerable.Repeat("abcd", 30_000)) },
    };

    [Theory]
    [MemberData(nameof(HugeWords))]
    public async Task Redact_HugeWordFromACheck_FinishesWithTheTextNotTheTimeoutFallback(string shape, string message)
    {
        // Tried: check outputs shaped to make backtracking patterns explode (a nested quantifier on a long run of
        // letters did). Bounded so that a regression fails here instead of hanging the run.
        var redacted = await Task.Run(() => Redactor.Redact(message)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(redacted.Length > 3, $"{shape}: '{redacted}'");
        Assert.EndsWith("…", redacted);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Redact_Nothing_Empty(string? message)
    {
        Assert.Equal(string.Empty, Redactor.Redact(message));
    }

    [Fact]
    public void Redact_ConfiguredValues_RemovedWhereverTheyAppear_AsWholeNames()
    {
        // Tried: names no pattern can know (a one-word host, a user, a database) and a password inside other text.
        var redacted = Redactor.Redact(
            "ledgerbox refused ledger_rw on ledger_main (key Zk7pass!x in 'aZk7pass!xb'); ledgerboxes unaffected",
            ["ledger_main", "ledgerbox", "ledger_rw"],
            ["Zk7pass!x"]);

        Assert.Equal("*** refused *** on *** (key *** in 'a***b'); ledgerboxes unaffected", redacted);
    }
}
