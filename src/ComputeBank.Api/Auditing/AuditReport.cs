using System.Text.Json.Serialization;

namespace ComputeBank.Api.Auditing;

/// <summary>The outcome of <see cref="LedgerAuditor.VerifyAsync"/>: clean when there is no discrepancy.</summary>
/// <param name="Ok">True when every checked invariant holds.</param>
/// <param name="EventsChecked">Events replayed.</param>
/// <param name="StreamsChecked">Streams replayed.</param>
/// <param name="DiscrepancyCount">All discrepancies found (the list stops at <see cref="LedgerAuditor.MaxListed"/>).</param>
/// <param name="Discrepancies">Each discrepancy, in the order found.</param>
public sealed record AuditReport(bool Ok, long EventsChecked, long StreamsChecked, long DiscrepancyCount, IReadOnlyList<Discrepancy> Discrepancies);

/// <summary>One broken invariant: which (1 double entry, 3 projection equals fold, 5 hash chain), what was checked,
/// the account/stream and bucket concerned, and the expected (replayed) and found (stored) values.</summary>
public sealed record Discrepancy(
    int Invariant,
    string Check,
    string Detail,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? AccountId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StreamId = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] BucketRef? Bucket = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ResourceClass = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Field = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Expected = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Found = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Version = null);

/// <summary>A bucket in a report.</summary>
public sealed record BucketRef(string ResourceClass, string Region, string Period)
{
    public static BucketRef Of(Domain.Bucket bucket) => new(bucket.ResourceClass.Value, bucket.Region.Value, bucket.Period.ToString());

    public override string ToString() => $"{ResourceClass}/{Region}/{Period}";
}

/// <summary>The check names a <see cref="Discrepancy"/> carries.</summary>
public static class AuditChecks
{
    public const string DoubleEntry = "double_entry";
    public const string Replay = "replay";
    public const string AccountBuckets = "account_buckets";
    public const string Snapshots = "snapshots";
    public const string Pools = "pools";
    public const string SystemAccounts = "system_accounts";
    public const string HashChain = "hash_chain";
}
