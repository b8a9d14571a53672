using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Messaging.Outbox;

/// <summary>An integration event as subscribers receive it. <paramref name="EventId"/> is stable (the same event always
/// has the same id, on every retry), so a subscriber de-duplicates by it.</summary>
public sealed record IntegrationEvent(string EventId, string EventType, JsonObject Payload);

/// <summary>One webhook subscriber (section <c>ComputeBank:Webhooks:Subscribers</c>).</summary>
public sealed class WebhookSubscriber
{
    /// <summary>Name on the outbox rows; the URL when not set.</summary>
    public string? Name { get; set; }

    public string Url { get; set; } = "";

    /// <summary>Key of the HMAC-SHA256 signature of every delivery.</summary>
    public string Secret { get; set; } = "";

    /// <summary>Event types it receives; all when empty.</summary>
    public List<string> EventTypes { get; set; } = [];

    public string Key => string.IsNullOrEmpty(Name) ? Url : Name;

    public bool Wants(string eventType) => EventTypes.Count == 0 || EventTypes.Contains(eventType, StringComparer.Ordinal);
}

/// <summary>Webhook delivery settings (section <c>ComputeBank:Webhooks</c>).</summary>
public sealed class WebhookOptions
{
    public List<WebhookSubscriber> Subscribers { get; set; } = [];

    /// <summary>Deliveries claimed (and sent in parallel) per pass.</summary>
    public int BatchSize { get; set; } = 20;

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a claim holds a delivery; a relay that dies lets it go when the lease runs out.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First retry delay; it doubles per attempt (with jitter) up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Attempts before a delivery is parked (status <c>dead</c>) for an operator; about a day with the defaults.</summary>
    public int MaxAttempts { get; set; } = 150;
}

/// <summary>
/// The signature scheme of deliveries: header <c>ComputeBank-Signature: t={unix seconds},v1={hex HMAC-SHA256}</c> of
/// <c>"{t}.{body}"</c> with the subscriber's secret (the timestamp is signed too, so an old delivery cannot be replayed
/// with a fresh time).
/// </summary>
public static class WebhookSignature
{
    public const string Header = "ComputeBank-Signature";
    public const string EventIdHeader = "ComputeBank-Event-Id";
    public const string EventTypeHeader = "ComputeBank-Event-Type";

    public static string Sign(string secret, long timestamp, string body)
    {
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)}.{body}"));
        return $"t={timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)},v1={Convert.ToHexStringLower(mac)}";
    }

    /// <summary>Whether <paramref name="header"/> is a valid signature of <paramref name="body"/> (constant-time comparison).</summary>
    public static bool Verify(string secret, string? header, string body)
    {
        if (header is null)
        {
            return false;
        }

        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        if (!parts.TryGetValue("t", out var t) || !long.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var timestamp)
            || !parts.ContainsKey("v1"))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Sign(secret, timestamp, body)), Encoding.ASCII.GetBytes(header));
    }
}

/// <summary>A claimed delivery.</summary>
public sealed record OutboxDelivery(long Id, string EventId, string Subscriber, string EventType, string Payload, int Attempts, Guid LeaseToken);

/// <summary>
/// The outbox table: rows written inside a command's transaction (one per event and subscriber), claimed by relays with
/// <c>FOR UPDATE SKIP LOCKED</c> under a lease that moves <c>available_at</c> (so rows of a dead relay come due again
/// when its lease runs out), deleted after delivery, rescheduled with backoff after a failure.
/// </summary>
public sealed class OutboxStore(NpgsqlDataSource dataSource, string schema)
{
    private readonly string _claim =
        $"UPDATE {schema}.outbox o SET attempts = o.attempts + 1, available_at = $2, locked_until = $2, owner = $3, lease_token = $4 " +
        $"FROM (SELECT id FROM {schema}.outbox WHERE status = 'pending' AND available_at <= $1 ORDER BY available_at, id LIMIT $5 FOR UPDATE SKIP LOCKED) picked " +
        "WHERE o.id = picked.id RETURNING o.id, o.event_id, o.subscriber, o.event_type, o.payload::text, o.attempts";

    private readonly string _delivered = $"DELETE FROM {schema}.outbox WHERE id = ANY($1) AND lease_token = $2";

    private readonly string _failed =
        $"UPDATE {schema}.outbox o SET status = f.status, available_at = f.retry_at, last_error = f.error, locked_until = NULL, owner = NULL, lease_token = NULL " +
        "FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[]) AS f(id, status, retry_at, error) WHERE o.id = f.id AND o.lease_token = $5";

    private readonly string _nextDue = $"SELECT min(available_at) FROM {schema}.outbox WHERE status = 'pending'";

    /// <summary>The LISTEN/NOTIFY channel relays wait on.</summary>
    public string Channel { get; } = OutboxWriter.ChannelOf(schema);

    public async Task<IReadOnlyList<OutboxDelivery>> ClaimAsync(string owner, int limit, TimeSpan lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid();
        await using var command = dataSource.CreateCommand(_claim);
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = (now + lease).UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = owner });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = token });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var claimed = new List<OutboxDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add(new OutboxDelivery(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetInt32(5), token));
        }

        return claimed;
    }

    public async Task DeliveredAsync(Guid leaseToken, IReadOnlyList<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return;
        }

        await using var command = dataSource.CreateCommand(_delivered);
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = leaseToken });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task FailedAsync(Guid leaseToken, IReadOnlyList<(long Id, bool Dead, DateTimeOffset RetryAt, string Error)> failures, CancellationToken cancellationToken)
    {
        if (failures.Count == 0)
        {
            return;
        }

        await using var command = dataSource.CreateCommand(_failed);
        command.Parameters.Add(new NpgsqlParameter { Value = failures.Select(f => f.Id).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        command.Parameters.Add(Text(failures.Select(f => f.Dead ? "dead" : "pending")));
        command.Parameters.Add(new NpgsqlParameter { Value = failures.Select(f => f.RetryAt.UtcDateTime).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(Text(failures.Select(f => f.Error)));
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = leaseToken });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(_nextDue);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DateTime due ? new DateTimeOffset(DateTime.SpecifyKind(due, DateTimeKind.Utc)) : null;
    }

    private static NpgsqlParameter Text(IEnumerable<string> values) => new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}

/// <summary>Builds the statements that put integration events into the outbox inside a command's transaction (no
/// connection of its own, so the event store's inline projections can use it).</summary>
public sealed class OutboxWriter(string schema)
{
    private readonly string _insert =
        $"INSERT INTO {schema}.outbox (event_id, subscriber, event_type, payload) " +
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) ON CONFLICT (event_id, subscriber) DO NOTHING";

    public static string ChannelOf(string schema) => schema + "_outbox";

    /// <summary>Statements that store events for every subscriber that wants them, and wake the relays on commit.</summary>
    public IEnumerable<NpgsqlBatchCommand> InsertStatements(IReadOnlyList<IntegrationEvent> events, IReadOnlyList<WebhookSubscriber> subscribers)
    {
        var rows = events.SelectMany(e => subscribers.Where(s => s.Wants(e.EventType)).Select(s => (Event: e, Subscriber: s.Key))).ToList();
        if (rows.Count == 0)
        {
            yield break;
        }

        var insert = new NpgsqlBatchCommand(_insert);
        insert.Parameters.Add(Text(rows.Select(r => r.Event.EventId)));
        insert.Parameters.Add(Text(rows.Select(r => r.Subscriber)));
        insert.Parameters.Add(Text(rows.Select(r => r.Event.EventType)));
        insert.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Event.Payload.ToJsonString()).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        yield return insert;
        var notify = new NpgsqlBatchCommand("SELECT pg_notify($1, '')");
        notify.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ChannelOf(schema) });
        yield return notify;
    }

    private static NpgsqlParameter Text(IEnumerable<string> values) => new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
}
