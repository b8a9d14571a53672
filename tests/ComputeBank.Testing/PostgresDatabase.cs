using Npgsql;

namespace ComputeBank.Testing;

/// <summary>
/// A throwaway PostgreSQL database for one test class, created on the real server named by
/// <c>COMPUTEBANK_TEST_PG</c> (an admin connection string; <c>deploy/local/test</c> sets it) and dropped afterwards.
/// Each test class gets its own database, so classes run in parallel without seeing each other's rows.
/// Use it as an <c>IClassFixture&lt;PostgresDatabase&gt;</c>.
/// </summary>
public sealed class PostgresDatabase : IAsyncLifetime
{
    public const string EnvironmentVariable = "COMPUTEBANK_TEST_PG";

    private readonly string _adminConnectionString;

    public PostgresDatabase()
    {
        _adminConnectionString = AdminConnectionString();
        DatabaseName = "cbt_" + Guid.NewGuid().ToString("N")[..16];
        ConnectionString = new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = DatabaseName }.ConnectionString;
    }

    /// <summary>Name of the database created for this fixture.</summary>
    public string DatabaseName { get; }

    /// <summary>Connection string to this fixture's own database.</summary>
    public string ConnectionString { get; }

    public static string AdminConnectionString() =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{EnvironmentVariable} is not set: the tests need a real PostgreSQL. Run them with deploy/local/test, " +
                "or set it to an admin connection string such as Host=127.0.0.1;Port=55432;Username=...;Password=...;Database=postgres.");

    public async Task InitializeAsync()
    {
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{DatabaseName}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(_adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Opens a connection to this fixture's database.</summary>
    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken = default)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    /// <summary>Runs a scalar query, for assertions about what is in the database.</summary>
    public async Task<T> ScalarAsync<T>(string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return (T)Convert.ChangeType(value!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Runs a statement, for tests that tamper with rows on purpose.</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
