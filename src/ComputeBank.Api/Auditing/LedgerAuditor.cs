using System.Diagnostics;
using ComputeBank.Api.Projections;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.EventStore;

namespace ComputeBank.Api.Auditing;

/// <summary>
/// Proves the books from events alone (docs/domain.md invariants 1, 3 and 5), for GET /api/v1/audit/verify and
/// <c>computebank audit verify</c>. Every event is replayed once, in sequence order, from one consistent snapshot
/// (<see cref="EventScan"/>); memory grows with the number of streams and buckets, not with the number of events.
/// <list type="bullet">
/// <item>1: per resource class, the postings of all events (system accounts included) sum to zero.</item>
/// <item>3: every row of <c>account_buckets</c>, every snapshot, every live <c>pool_totals</c> row and every
/// <c>system_balances</c> row equals the fold of its events (the async ones as of their projection checkpoints).</item>
/// <item>3 (market): every offer's hours add up and agree with its trades, a provider's pending hours are its open
/// offers, trades awaiting payment and holds, no trade settled at or after payBy, and the market's read models hold
/// their streams' states (<see cref="MarketAudit"/>).</item>
/// <item>5: every stream's hash chain is intact (<see cref="MartenEventStore.VerifyHashChainsAsync"/>).</item>
/// </list>
/// </summary>
public sealed class LedgerAuditor(MartenEventStore store, LedgerCatalogue catalogue)
{
    /// <summary>At most this many discrepancies are listed; all are counted.</summary>
    public const int MaxListed = 1000;

    private static readonly ActivitySource Source = new("ComputeBank.Auditing");

    /// <summary>Replays everything and reports each discrepancy. <paramref name="progress"/> gets the events replayed so far.</summary>
    public async Task<AuditReport> VerifyAsync(IProgress<long>? progress, CancellationToken ct)
    {
        using var activity = Source.StartActivity("audit verify");
        var found = new Findings();

        // Invariant 5 is one server-side pass over the events; it runs while this process replays them.
        var chains = store.VerifyHashChainsAsync(ct);
        LedgerReplay replay;
        await using (var scan = await EventScan.OpenAsync(store.DataSource, store.Schema, ct))
        {
            replay = await ReplayAsync(scan, progress, ct);
            foreach (var (streamId, stream) in replay.Streams.Where(s => s.Value.Broken is not null))
            {
                found.Add(new Discrepancy(3, AuditChecks.Replay, $"{streamId}: {stream.Broken}", AccountOf(streamId), streamId));
            }

            await CheckAccountBucketsAsync(scan, replay.Streams, found, ct);
            await CheckSnapshotsAsync(scan, replay.Streams, found, ct);
            await CheckPoolsAsync(scan, replay.Pools, replay.PoolCheckpoint, found, ct);
            await CheckSystemAccountsAsync(scan, replay.SystemBalances, replay.SystemCheckpoint, found, ct);
            await CheckMarketAsync(scan, replay.Streams, found, ct);
            await scan.Transaction.CommitAsync(ct);
        }

        foreach (var (resourceClass, sum) in replay.Sums.Where(s => s.Value != 0))
        {
            found.Add(new Discrepancy(1, AuditChecks.DoubleEntry,
                $"the postings of {resourceClass} over all events sum to {new Hours(sum)}, not zero",
                ResourceClass: resourceClass, Expected: Hours.Zero.ToString(), Found: new Hours(sum).ToString()));
        }

        foreach (var chain in await chains)
        {
            found.Add(new Discrepancy(5, AuditChecks.HashChain, $"{chain.StreamId}: {chain.Kind} at version {chain.Version}: {chain.Detail}",
                AccountOf(chain.StreamId), chain.StreamId, Version: chain.Version, Field: chain.Kind.ToString()));
        }

        activity?.SetTag("computebank.audit.events", replay.Events);
        activity?.SetTag("computebank.audit.discrepancies", found.Count);
        return new AuditReport(found.Count == 0, replay.Events, replay.Streams.Count, found.Count, found.Listed);
    }

    /// <summary>Reads the snapshot versions and the async projections' checkpoints, then folds every event of the scan.</summary>
    private async Task<LedgerReplay> ReplayAsync(EventScan scan, IProgress<long>? progress, CancellationToken ct)
    {
        var replay = new LedgerReplay(catalogue);
        await scan.ReadAsync($"SELECT stream_id, version FROM {scan.Schema}.snapshots", r => replay.SnapshotVersions[r.GetString(0)] = r.GetInt64(1), ct);
        await scan.ReadAsync($"SELECT last_sequence FROM {scan.Schema}.projection_progress WHERE name = '{PoolsProjection.ProjectionName}'",
            r => replay.PoolCheckpoint = r.GetInt64(0), ct);
        await scan.ReadAsync($"SELECT last_sequence FROM {scan.Schema}.projection_progress WHERE name = '{SystemAccountsProjection.ProjectionName}'",
            r => replay.SystemCheckpoint = r.GetInt64(0), ct);

        await foreach (var e in scan.EventsAsync(0, ct))
        {
            replay.Apply(e);
            if (replay.Events % 100_000 == 0)
            {
                progress?.Report(replay.Events);
            }
        }

        progress?.Report(replay.Events);
        return replay;
    }

    private static async Task CheckAccountBucketsAsync(EventScan scan, Dictionary<string, Replay> streams, Findings found, CancellationToken ct)
    {
        var seen = new HashSet<(string, Bucket)>();
        await scan.ReadAsync($"SELECT account_id, resource_class, region, period, posted, pending FROM {scan.Schema}.account_buckets", r =>
        {
            var accountId = r.GetString(0);
            var streamId = "account-" + accountId;
            if (!Bucket.TryParseKey($"{r.GetString(1)}/{r.GetString(2)}/{r.GetString(3)}", out var bucket))
            {
                found.Add(new Discrepancy(3, AuditChecks.AccountBuckets, $"row of {accountId} has an unreadable bucket", accountId, streamId));
                return;
            }

            seen.Add((accountId, bucket));
            var replay = streams.GetValueOrDefault(streamId);
            if (replay is { Broken: not null })
            {
                return;
            }

            var expected = (replay?.State as AccountState)?.Balance(bucket) ?? BucketBalance.Empty;
            Compare(found, AuditChecks.AccountBuckets, accountId, streamId, bucket, "posted", expected.Posted, new Hours(r.GetInt64(4)));
            Compare(found, AuditChecks.AccountBuckets, accountId, streamId, bucket, "pending", expected.Pending, new Hours(r.GetInt64(5)));
        }, ct);

        foreach (var (streamId, replay) in streams)
        {
            if (replay is { Broken: null, State: AccountState account })
            {
                foreach (var (bucket, balance) in account.Balances.Where(b => !seen.Contains((account.AccountId.Value, b.Key))))
                {
                    found.Add(new Discrepancy(3, AuditChecks.AccountBuckets, $"{account.AccountId} has no row for {bucket}",
                        account.AccountId.Value, streamId, BucketRef.Of(bucket), Field: "posted", Expected: balance.Posted.ToString()));
                }
            }
        }
    }

    private static async Task CheckSnapshotsAsync(EventScan scan, Dictionary<string, Replay> streams, Findings found, CancellationToken ct)
    {
        await scan.ReadAsync($"SELECT stream_id, version, data FROM {scan.Schema}.snapshots", r =>
        {
            var streamId = r.GetString(0);
            var version = r.GetInt64(1);
            var replay = streams.GetValueOrDefault(streamId);
            if (replay is { Broken: not null })
            {
                return;
            }

            if (replay?.AtSnapshot is not { } expected)
            {
                found.Add(new Discrepancy(3, AuditChecks.Snapshots,
                    $"{streamId}: snapshot at version {version} but the events reach version {replay?.Version ?? 0}", AccountOf(streamId), streamId, Version: version));
                return;
            }

            string actual;
            object? state;
            try
            {
                state = DomainJson.DeserializeState(StreamIds.AggregateTypeOf(streamId), r.GetString(2));
                actual = DomainJson.SerializeState(state);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or FormatException or InvalidOperationException)
            {
                found.Add(new Discrepancy(3, AuditChecks.Snapshots, $"{streamId}: snapshot cannot be read: {e.Message}", AccountOf(streamId), streamId, Version: version));
                return;
            }

            if (string.Equals(actual, expected, StringComparison.Ordinal))
            {
                return;
            }

            var before = found.Count;
            if (state is AccountState stored && DomainJson.DeserializeState(StreamIds.AccountType, expected) is AccountState replayed)
            {
                foreach (var bucket in stored.Balances.Keys.Union(replayed.Balances.Keys).Order())
                {
                    Compare(found, AuditChecks.Snapshots, stored.AccountId.Value, streamId, bucket, "posted", replayed.Balance(bucket).Posted, stored.Balance(bucket).Posted);
                    Compare(found, AuditChecks.Snapshots, stored.AccountId.Value, streamId, bucket, "pending", replayed.Balance(bucket).Pending, stored.Balance(bucket).Pending);
                }
            }

            if (found.Count == before)
            {
                found.Add(new Discrepancy(3, AuditChecks.Snapshots, $"{streamId}: snapshot at version {version} differs from the fold of its events",
                    AccountOf(streamId), streamId, Field: "state", Expected: expected, Found: actual, Version: version));
            }
        }, ct);
    }

    /// <summary>The market's invariants on the replayed states, and its read models against them (<see cref="MarketAudit"/>).</summary>
    private static async Task CheckMarketAsync(EventScan scan, Dictionary<string, Replay> streams, Findings found, CancellationToken ct)
    {
        var states = streams.Where(s => s.Value.Broken is null).ToDictionary(s => s.Key, s => s.Value.State, StringComparer.Ordinal);
        MarketAudit.Check(states, found.Add);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await scan.ReadAsync($"SELECT offer_id, state::text FROM {scan.Schema}.market_offers", r =>
        {
            var streamId = StreamIds.Offer(OperationId.Parse(r.GetString(0)));
            seen.Add(streamId);
            MarketAudit.CheckRow<Domain.Market.OfferState>(streamId, r.GetString(1), states, found.Add);
        }, ct);
        await scan.ReadAsync($"SELECT trade_id, state::text FROM {scan.Schema}.market_trades", r =>
        {
            var streamId = StreamIds.Trade(OperationId.Parse(r.GetString(0)));
            seen.Add(streamId);
            MarketAudit.CheckRow<Domain.Market.TradeState>(streamId, r.GetString(1), states, found.Add);
        }, ct);
        foreach (var streamId in states.Where(s => s.Value is Domain.Market.OfferState or Domain.Market.TradeState && !seen.Contains(s.Key)).Select(s => s.Key))
        {
            found.Add(new Discrepancy(3, MarketAudit.ReadModels, $"{streamId} has no row in the market's read models", StreamId: streamId));
        }
    }

    private static async Task CheckPoolsAsync(EventScan scan, PoolFold pools, long checkpoint, Findings found, CancellationToken ct)
    {
        var seen = new HashSet<Bucket>();
        await scan.ReadAsync(new PoolTable(scan.Schema).SelectLive, r =>
        {
            var (bucket, stored) = PoolTable.ReadRow(r);
            seen.Add(bucket);
            ComparePool(found, bucket, pools.Totals.GetValueOrDefault(bucket) ?? new PoolTotals(), stored, checkpoint);
        }, ct);
        foreach (var (bucket, totals) in pools.Totals.Where(p => !seen.Contains(p.Key) && !p.Value.IsZero))
        {
            ComparePool(found, bucket, totals, new PoolTotals(), checkpoint);
        }
    }

    private static async Task CheckSystemAccountsAsync(
        EventScan scan, Dictionary<(string Account, Bucket Bucket), long> expected, long checkpoint, Findings found, CancellationToken ct)
    {
        var seen = new HashSet<(string, Bucket)>();
        await scan.ReadAsync($"SELECT account_id, resource_class, region, period, posted FROM {scan.Schema}.system_balances", r =>
        {
            var accountId = r.GetString(0);
            if (!Bucket.TryParseKey($"{r.GetString(1)}/{r.GetString(2)}/{r.GetString(3)}", out var bucket))
            {
                found.Add(new Discrepancy(3, AuditChecks.SystemAccounts, $"row of {accountId} has an unreadable bucket", accountId));
                return;
            }

            seen.Add((accountId, bucket));
            CompareSystem(found, accountId, bucket, expected.GetValueOrDefault((accountId, bucket)), r.GetInt64(4), checkpoint);
        }, ct);
        foreach (var ((accountId, bucket), posted) in expected.Where(e => !seen.Contains(e.Key) && e.Value != 0))
        {
            CompareSystem(found, accountId, bucket, posted, 0, checkpoint);
        }
    }

    private static void CompareSystem(Findings found, string accountId, Bucket bucket, long want, long have, long checkpoint)
    {
        if (want != have)
        {
            found.Add(new Discrepancy(3, AuditChecks.SystemAccounts,
                $"{accountId} {bucket} posted at sequence {checkpoint}: events give {new Hours(want)}, system_balances has {new Hours(have)}",
                accountId, Bucket: BucketRef.Of(bucket), Field: "posted", Expected: new Hours(want).ToString(), Found: new Hours(have).ToString()));
        }
    }

    private static void ComparePool(Findings found, Bucket bucket, PoolTotals expected, PoolTotals stored, long checkpoint)
    {
        foreach (var ((column, want), (_, have)) in expected.Fields().Zip(stored.Fields()))
        {
            if (want != have)
            {
                found.Add(new Discrepancy(3, AuditChecks.Pools, $"pool {bucket} {column} at sequence {checkpoint}: events give {new Hours(want)}, the row has {new Hours(have)}",
                    Bucket: BucketRef.Of(bucket), Field: column, Expected: new Hours(want).ToString(), Found: new Hours(have).ToString()));
            }
        }
    }

    private static void Compare(Findings found, string check, string accountId, string streamId, Bucket bucket, string field, Hours expected, Hours actual)
    {
        if (expected != actual)
        {
            found.Add(new Discrepancy(3, check, $"{accountId} {bucket} {field}: events give {expected}, {check} has {actual}",
                accountId, streamId, BucketRef.Of(bucket), Field: field, Expected: expected.ToString(), Found: actual.ToString()));
        }
    }

    private static string? AccountOf(string streamId) =>
        streamId.StartsWith("account-", StringComparison.Ordinal) ? streamId["account-".Length..] : null;

    /// <summary>
    /// The fold of the whole feed: each stream's state (or why it cannot be replayed), the postings' sum per resource
    /// class, the pools and the system accounts' balances as of their projections' checkpoints.
    /// </summary>
    private sealed class LedgerReplay(LedgerCatalogue catalogue)
    {
        public Dictionary<string, Replay> Streams { get; } = new(StringComparer.Ordinal);

        public SortedDictionary<string, long> Sums { get; } = new(StringComparer.Ordinal);

        public Dictionary<(string Account, Bucket Bucket), long> SystemBalances { get; } = [];

        public Dictionary<string, long> SnapshotVersions { get; } = new(StringComparer.Ordinal);

        public PoolFold Pools { get; } = new(catalogue.SystemAccounts);

        public long PoolCheckpoint { get; set; }

        public long SystemCheckpoint { get; set; }

        public long Events { get; private set; }

        public void Apply(ReplayedEvent e)
        {
            Events++;
            if (!Streams.TryGetValue(e.StreamId, out var replay))
            {
                Streams[e.StreamId] = replay = new Replay();
            }

            if (e.Data is null)
            {
                replay.Broken ??= $"event {e.Version} ({e.TypeName}) cannot be read: {e.Error}";
                return;
            }

            Post(e);
            if (e.Sequence <= PoolCheckpoint)
            {
                Pools.Apply(e.Data);
            }

            replay.Version = e.Version;
            if (replay.Broken is not null)
            {
                return;
            }

            try
            {
                replay.State = Domain.Ledger.Evolve(e.StreamId, replay.State, e.Data);
            }
            catch (Exception ex) when (ex is InvalidOperationException or KeyNotFoundException or ArgumentException or InvalidCastException or OverflowException)
            {
                replay.Broken = $"event {e.Version} ({e.TypeName}) does not apply: {ex.Message}";
                return;
            }

            if (SnapshotVersions.TryGetValue(e.StreamId, out var snapshotVersion) && snapshotVersion == e.Version)
            {
                replay.AtSnapshot = DomainJson.SerializeState(replay.State);
            }
        }

        private void Post(ReplayedEvent e)
        {
            foreach (var posting in DomainEvents.PostingsOf(e.Data!))
            {
                var key = posting.Bucket.ResourceClass.Value;
                Sums[key] = checked(Sums.GetValueOrDefault(key) + posting.Amount.MilliHours);
                if (e.Sequence <= SystemCheckpoint && catalogue.IsSystemAccount(posting.AccountId))
                {
                    var system = (posting.AccountId.Value, posting.Bucket);
                    SystemBalances[system] = checked(SystemBalances.GetValueOrDefault(system) + posting.Amount.MilliHours);
                }
            }
        }
    }

    private sealed class Replay
    {
        public long Version { get; set; }

        public object? State { get; set; }

        public string? AtSnapshot { get; set; }

        public string? Broken { get; set; }
    }

    private sealed class Findings
    {
        public List<Discrepancy> Listed { get; } = [];

        public long Count { get; private set; }

        public void Add(Discrepancy discrepancy)
        {
            Count++;
            if (Listed.Count < MaxListed)
            {
                Listed.Add(discrepancy);
            }
        }
    }
}
