using ComputeBank.Testing;
using Npgsql;

namespace ComputeBank.EventStore.Tests.Bugs;

/// <summary>
/// Found by the long fault run: a node starting while the nemesis terminated database connections exited with code
/// 134. The migration's connection was killed while it held the migrator's session lock; releasing that lock in a
/// finally block then ran on the broken connection and threw "Connection is not open" (an InvalidOperationException),
/// which hid the database's error, so the host's retry of transient migration failures did not apply and the start
/// failed. A broken connection's session lock ends with its session: nothing is released on it now, and the caller
/// sees the database's error.
/// </summary>
public sealed class Bug_a_terminated_migration_connection_crashed_the_start(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task GivenTheMigrationsConnectionIsTerminatedHalfWay_ThenTheDatabasesErrorSurfacesAndTheLockIsFree()
    {
        await using var store = MartenEventStore.Create(new EventStoreOptions { ConnectionString = database.ConnectionString }, TestTypes.Registry());
        await store.MigrateAsync(CancellationToken.None);

        // Hold the migration inside its locked part: its read of the recorded version waits for this lock.
        await using var blocker = await database.OpenAsync();
        await using var blocking = await blocker.BeginTransactionAsync();
        await using (var lockTable = new NpgsqlCommand("LOCK TABLE cb.schema_versions IN ACCESS EXCLUSIVE MODE", blocker, blocking))
        {
            await lockTable.ExecuteNonQueryAsync();
        }

        var migrating = store.MigrateAsync(CancellationToken.None);
        var waiting = await WaitingPidAsync(blocker, blocking);
        await using (var terminate = new NpgsqlCommand($"SELECT pg_terminate_backend({waiting})", blocker, blocking))
        {
            await terminate.ExecuteNonQueryAsync();
        }

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => migrating);
        await blocking.RollbackAsync();

        // The next start migrates: the migrator's lock went with the terminated session.
        await store.MigrateAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task<int> WaitingPidAsync(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            await using var command = new NpgsqlCommand(
                "SELECT pid FROM pg_locks WHERE NOT granted AND relation = 'cb.schema_versions'::regclass LIMIT 1", connection, transaction);
            if (await command.ExecuteScalarAsync() is int pid)
            {
                return pid;
            }

            await Task.Delay(50);
        }

        throw new Xunit.Sdk.XunitException("The migration never waited for the table lock.");
    }
}
