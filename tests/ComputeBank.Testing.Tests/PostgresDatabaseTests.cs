using Npgsql;

namespace ComputeBank.Testing.Tests;

public sealed class PostgresDatabaseTests
{
    [Fact]
    public async Task EachFixtureGetsItsOwnDatabase_DroppedOnDispose()
    {
        var first = new PostgresDatabase();
        var second = new PostgresDatabase();
        await first.InitializeAsync();
        await second.InitializeAsync();

        await first.ExecuteAsync("CREATE TABLE marker (id int)");
        var secondHasMarker = await second.ScalarAsync<long>("SELECT count(*) FROM pg_tables WHERE tablename = 'marker'");
        var serverVersion = await first.ScalarAsync<int>("SELECT current_setting('server_version_num')::int");

        await first.DisposeAsync();
        await second.DisposeAsync();
        await using var admin = new NpgsqlConnection(PostgresDatabase.AdminConnectionString());
        await admin.OpenAsync();
        await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = ANY(@names)", admin);
        exists.Parameters.AddWithValue("names", new[] { first.DatabaseName, second.DatabaseName });

        Assert.Equal(0, secondHasMarker);
        Assert.True(serverVersion >= 150000, $"PostgreSQL 15 or later expected, got {serverVersion}");
        Assert.Equal(0L, (long)(await exists.ExecuteScalarAsync())!);
    }
}
