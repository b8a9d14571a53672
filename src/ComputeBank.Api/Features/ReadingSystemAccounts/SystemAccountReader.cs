using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Projections;
using ComputeBank.Domain;
using Npgsql;

namespace ComputeBank.Api.Features.ReadingSystemAccounts;

/// <summary>
/// The read side of the bank's system accounts (<c>bank.capacity</c>, <c>bank.consumption</c>, <c>bank.expiry</c>,
/// <c>bank.conversion</c>), which have no streams: their balances and histories come from the async projection
/// <see cref="SystemAccountsProjection"/>, so every answer says how far it has read (<c>asOfSequence</c>). The account,
/// history and balance endpoints answer through here for a system account id; only auditors and operators get here (a
/// system account has no owner).
/// </summary>
public sealed class SystemAccountReader(NpgsqlDataSource dataSource, string schema)
{
    private readonly string _checkpoint =
        $"SELECT coalesce((SELECT last_sequence FROM {schema}.projection_progress WHERE name = '{SystemAccountsProjection.ProjectionName}'), 0)";

    private readonly string _balances =
        $"SELECT resource_class, region, period, posted, " +
        $"(SELECT coalesce(max(ordinal), 0) FROM {schema}.system_postings p WHERE p.account_id = $1) " +
        $"FROM {schema}.system_balances WHERE account_id = $1 AND posted <> 0 ORDER BY resource_class, region, period";

    private readonly string _history =
        "SELECT p.ordinal, p.sequence, e.type, e.timestamp, e.data::text, p.resource_class, p.region, p.period, p.balance " +
        $"FROM {schema}.system_postings p JOIN {schema}.events e ON e.seq_id = p.sequence " +
        "WHERE p.account_id = $1 AND p.ordinal > $2 AND p.ordinal <= $2 + $3 + 1 ORDER BY p.ordinal, p.resource_class, p.region, p.period";

    private readonly string _balancesAt =
        "SELECT DISTINCT ON (p.resource_class, p.region, p.period) p.resource_class, p.region, p.period, p.balance, p.ordinal, e.timestamp " +
        $"FROM {schema}.system_postings p JOIN {schema}.events e ON e.seq_id = p.sequence " +
        "WHERE p.account_id = $1 AND p.ordinal <= coalesce($2, 9223372036854775807) AND ($3::timestamptz IS NULL OR e.timestamp <= $3) " +
        "ORDER BY p.resource_class, p.region, p.period, p.ordinal DESC";

    /// <summary>GET /accounts/{id} of a system account: its balances now (as far as the projection has read).</summary>
    public async Task<JsonObject> AccountAsync(string accountId, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        var asOf = await CheckpointAsync(connection, tx, ct);
        var balances = new JsonArray();
        long version = 0;
        await using (var command = new NpgsqlCommand(_balances, connection, tx))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = accountId });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                balances.Add(Balance(reader, 0, reader.GetInt64(3)));
                version = reader.GetInt64(4);
            }
        }

        await tx.CommitAsync(ct);
        return new JsonObject
        {
            ["accountId"] = accountId,
            ["ownerId"] = "bank",
            ["kind"] = "system",
            ["displayName"] = null,
            ["status"] = "active",
            ["version"] = version,
            ["creditLimits"] = new JsonObject(),
            ["balances"] = balances,
            ["asOfSequence"] = asOf,
        };
    }

    /// <summary>GET /accounts/{id}/history of a system account: one entry per event that posted to it, in order.</summary>
    public async Task<JsonObject> HistoryAsync(string accountId, long afterVersion, int limit, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        var asOf = await CheckpointAsync(connection, tx, ct);
        var page = new JsonArray();
        var more = false;
        await using (var command = new NpgsqlCommand(_history, connection, tx))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = accountId });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterVersion });
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = limit });
            await using var reader = await command.ExecuteReaderAsync(ct);
            JsonObject? entry = null;
            while (await reader.ReadAsync(ct))
            {
                var ordinal = reader.GetInt64(0);
                if (ordinal > afterVersion + limit)
                {
                    more = true;
                    break;
                }

                if (entry is null || (long)entry["version"]! != ordinal)
                {
                    entry = new JsonObject
                    {
                        ["version"] = ordinal,
                        ["sequence"] = reader.GetInt64(1),
                        ["type"] = reader.GetString(2),
                        ["time"] = OperationResults.Timestamp(reader.GetFieldValue<DateTimeOffset>(3)),
                        // Read back into the event and written as every other history and feed answer writes it.
                        ["data"] = JsonNode.Parse(DomainJson.SerializeEvent(DomainJson.DeserializeEvent(reader.GetString(2), reader.GetString(4)))),
                        ["balances"] = new JsonArray(),
                    };
                    page.Add(entry);
                }

                ((JsonArray)entry["balances"]!).Add(Balance(reader, 5, reader.GetInt64(8)));
            }
        }

        await tx.CommitAsync(ct);
        return new JsonObject
        {
            ["accountId"] = accountId,
            ["events"] = page,
            ["next"] = more ? afterVersion + limit : null,
            ["asOfSequence"] = asOf,
        };
    }

    /// <summary>GET /accounts/{id}/balances of a system account at an instant or after its N-th history entry.</summary>
    public async Task<JsonObject> BalancesAsync(string accountId, DateTimeOffset? at, long? version, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        var asOf = await CheckpointAsync(connection, tx, ct);
        var balances = new JsonArray();
        long reached = 0;
        DateTimeOffset? lastEventAt = null;
        await using (var command = new NpgsqlCommand(_balancesAt, connection, tx))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = accountId });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)version ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)at ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                if (reader.GetInt64(3) != 0)
                {
                    balances.Add(Balance(reader, 0, reader.GetInt64(3)));
                }

                if (reader.GetInt64(4) > reached)
                {
                    reached = reader.GetInt64(4);
                    lastEventAt = reader.GetFieldValue<DateTimeOffset>(5);
                }
            }
        }

        await tx.CommitAsync(ct);
        return new JsonObject
        {
            ["accountId"] = accountId,
            ["asOf"] = at is { } instant ? OperationResults.Timestamp(instant) : null,
            ["version"] = reached,
            ["lastEventAt"] = lastEventAt is { } last ? OperationResults.Timestamp(last) : null,
            ["status"] = "active",
            ["balances"] = balances,
            ["asOfSequence"] = asOf,
        };
    }

    private async Task<long> CheckpointAsync(NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(_checkpoint, connection, tx);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    private static JsonObject Balance(NpgsqlDataReader reader, int first, long posted)
    {
        var bucket = new Bucket(ResourceClass.Parse(reader.GetString(first)), Region.Parse(reader.GetString(first + 1)), Period.Parse(reader.GetString(first + 2)));
        var hours = new Hours(posted);
        return ContractJson.ToNode(OperationResults.Bucket(bucket, hours, Hours.Zero, hours));
    }
}
