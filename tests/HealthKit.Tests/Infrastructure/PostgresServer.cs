// Copyright (c) HealthKit contributors. Licensed under the MIT License.

using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace HealthKit.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL 15 server of its own: a fresh cluster in a temp directory, listening on 127.0.0.1 on a free port,
/// trust authentication for the <c>postgres</c> user. Share it through <see cref="PostgresCollection"/>; tests in that
/// collection run one after another, so one may stop and restart it. Run as root, the server runs as the
/// <c>postgres</c> user (PostgreSQL refuses root).
/// </summary>
public sealed partial class PostgresServer : IAsyncLifetime
{
    private const string SuperUser = "postgres";
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private string? _binDirectory;
    private string? _runAsUser;
    private DirectoryInfo? _root;
    private ServerProcess? _process;

    public int Port { get; private set; }

    /// <summary>The <c>postgres</c> database as the superuser, failing within 5 s when the server is down.</summary>
    public string ConnectionString => BuildConnectionString("postgres");

    /// <summary>The last lines PostgreSQL logged (it logs to stderr).</summary>
    public string Output => _process?.Output ?? string.Empty;

    private string DataDirectory => Path.Combine(_root!.FullName, "data");

    private string AdminConnectionString => BuildConnectionString("postgres") + ";Pooling=false";

    public async Task InitializeAsync()
    {
        _binDirectory = await FindBinDirectoryAsync();
        _root = ServerHost.CreateTempDirectory("postgres");
        if (ServerHost.IsRoot)
        {
            _runAsUser = SuperUser;
            var chown = await ServerHost.RunAsync("chown", [$"{SuperUser}:", _root.FullName], TimeSpan.FromSeconds(10));
            if (chown.ExitCode != 0)
            {
                throw new InvalidOperationException($"chown of {_root.FullName} to '{SuperUser}' failed: {chown.Output}");
            }
        }

        // --no-sync and fsync=off: a throwaway cluster needs no durability, and CREATE DATABASE is much faster without it.
        var initdb = await ServerHost.RunAsync(
            Path.Combine(_binDirectory, "initdb"),
            ["-D", DataDirectory, "-A", "trust", "-U", SuperUser, "-E", "UTF8", "--locale=C", "--no-sync"],
            TimeSpan.FromSeconds(60),
            _runAsUser);
        if (initdb.ExitCode != 0)
        {
            throw new InvalidOperationException($"initdb failed with exit code {initdb.ExitCode}:\n{initdb.Output}");
        }

        await ServerHost.StartOnFreePortAsync(async port =>
        {
            Port = port;
            await StartAsync();
            return port;
        });
    }

    /// <summary>Starts the server on its data directory and port (again, after <see cref="StopAsync"/>); returns once it accepts connections.</summary>
    /// <exception cref="InvalidOperationException">The server is running, or exited while starting (the message has its log).</exception>
    /// <exception cref="TimeoutException">It did not become ready within 30 s.</exception>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("PostgreSQL is already running.");
        }

        if (_process is not null)
        {
            await _process.DisposeAsync();
        }

        _process = ServerProcess.Start(
            Path.Combine(_binDirectory!, "postgres"),
            [
                "-D", DataDirectory,
                "-p", Port.ToString(CultureInfo.InvariantCulture),
                "-k", _root!.FullName,
                "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
            ],
            _root.FullName,
            _runAsUser,

            // Enough for tests that read statements in the log: a new connection alone logs Npgsql's long type query.
            keptLines: 5000);

        var isReady = Path.Combine(_binDirectory!, "pg_isready");
        string[] arguments = ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", SuperUser, "-d", "postgres", "-t", "1"];
        try
        {
            await ServerHost.WaitUntilAsync(
                $"PostgreSQL on port {Port} to be ready",
                async () => (await ServerHost.RunAsync(isReady, arguments, TimeSpan.FromSeconds(10))).ExitCode == 0,
                ReadyTimeout,
                _process);
        }
        catch (TimeoutException)
        {
            await StopAsync();
            throw;
        }
    }

    /// <summary>
    /// Fast shutdown (SIGINT to the postmaster's PID): sessions are ended, and new connections are refused until
    /// <see cref="StartAsync"/>. Pooled connections the tests still hold are broken, as in production.
    /// </summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        // Through runuser the child is runuser, which forwards no SIGINT: signal the postmaster itself.
        await _process.StopAsync(UnixSignal.Interrupt, TimeSpan.FromSeconds(30), ReadPostmasterPid() ?? _process.Id);
    }

    /// <summary>Creates an empty database <paramref name="name"/> (dropping one left by an earlier test) and returns its connection string.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a plain lower-case identifier.</exception>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        ValidateName(name);
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using (var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection))
        {
            await drop.ExecuteNonQueryAsync();
        }

        await using (var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        return BuildConnectionString(name);
    }

    /// <summary>
    /// <c>pg_stat_database.xact_commit</c> of <paramref name="database"/>: the transactions committed in it, each
    /// statement outside an explicit transaction counting as one. A backend reports its counts when it goes idle, at
    /// most once a second, and when it exits, so poll (bounded) for a count to arrive rather than read it once.
    /// </summary>
    public async Task<long> GetCommittedTransactionsAsync(string database)
    {
        ArgumentException.ThrowIfNullOrEmpty(database);
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = database });
        var result = await command.ExecuteScalarAsync();
        return result is long count ? count : throw new InvalidOperationException($"No database '{database}' in pg_stat_database.");
    }

    /// <summary>
    /// Makes the server log every statement run in <paramref name="database"/> (<c>log_statement = all</c>, for
    /// sessions that start afterwards), so a test reads in <see cref="Output"/> what an application sent.
    /// </summary>
    public async Task LogStatementsAsync(string database)
    {
        ValidateName(database);
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"ALTER DATABASE \"{database}\" SET log_statement = 'all'", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Writes <paramref name="marker"/> into the server log and waits (bounded) until <see cref="Output"/> shows it, so
    /// everything the server logged before it has been read too: the lines after one marker and before the next are
    /// exactly what the server logged in between.
    /// </summary>
    public async Task MarkLogAsync(string marker)
    {
        ArgumentException.ThrowIfNullOrEmpty(marker);
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DO $$ BEGIN RAISE LOG '{marker.Replace("'", "''", StringComparison.Ordinal)}'; END $$", connection);
            await command.ExecuteNonQueryAsync();
        }

        await ServerHost.WaitUntilAsync($"PostgreSQL to log '{marker}'", () => Task.FromResult(Output.Contains(marker, StringComparison.Ordinal)), ReadyTimeout, _process!);
    }

    /// <summary>The server's log lines after the line with <paramref name="from"/> and before the line with <paramref name="to"/>.</summary>
    public string[] LogBetween(string from, string to)
    {
        var lines = Output.Split('\n');
        var start = Array.FindLastIndex(lines, l => l.Contains(from, StringComparison.Ordinal) && !l.Contains("RAISE LOG", StringComparison.Ordinal));
        var end = Array.FindLastIndex(lines, l => l.Contains(to, StringComparison.Ordinal) && !l.Contains("RAISE LOG", StringComparison.Ordinal));
        if (start < 0 || end < start)
        {
            throw new InvalidOperationException($"The log has no '{from}' ... '{to}' section (only the last lines are kept). Log:\n{Output}");
        }

        return lines[(start + 1)..end];
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await StopAsync();
            await _process.DisposeAsync();
        }

        ServerHost.DeleteTempDirectory(_root);
    }

    private static async Task<string> FindBinDirectoryAsync()
    {
        const string Debian = "/usr/lib/postgresql/15/bin";
        if (File.Exists(Path.Combine(Debian, "postgres")))
        {
            return Debian;
        }

        var pgConfig = ServerHost.FindExecutable("pg_config", "postgresql");
        var result = await ServerHost.RunAsync(pgConfig, ["--bindir"], TimeSpan.FromSeconds(10));
        var bin = result.Output.Trim();
        if (result.ExitCode == 0 && File.Exists(Path.Combine(bin, "postgres")) && File.Exists(Path.Combine(bin, "initdb")))
        {
            return bin;
        }

        throw new InvalidOperationException(
            $"PostgreSQL 15 server binaries are not installed (no {Debian}/postgres, and pg_config --bindir gave '{bin}'). " +
            "Install the Debian package: apt-get install -y postgresql (build/test.sh installs every server the tests use).");
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!DatabaseName().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a plain database name (lower-case letters, digits and _, at most 63).", nameof(name));
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex DatabaseName();

    private string BuildConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port};Username={SuperUser};Database={database};Timeout=5";

    private int? ReadPostmasterPid()
    {
        try
        {
            var firstLine = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
