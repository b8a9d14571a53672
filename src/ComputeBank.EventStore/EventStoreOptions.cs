using System.Text.Json;

namespace ComputeBank.EventStore;

/// <summary>Where and how the event store keeps its data.</summary>
public sealed class EventStoreOptions
{
    /// <summary>Npgsql connection string. <c>Max Auto Prepare</c> defaults to 32 when not set, so hot statements are prepared.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>PostgreSQL schema of every table and function; lower-case letters, digits and underscores.</summary>
    public string Schema { get; init; } = "cb";

    /// <summary>How event data and snapshots are (de)serialised. Given by the host; the store never inspects the JSON.</summary>
    public JsonSerializerOptions Json { get; init; } = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// <c>lock_timeout</c> applied to <see cref="LockMode.Exclusive"/> and <see cref="LockMode.Shared"/> fetches;
    /// running out of it raises <see cref="StreamLockTimeoutException"/>. Null keeps the server's setting.
    /// </summary>
    public TimeSpan? LockTimeout { get; init; }
}
