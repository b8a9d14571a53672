using Microsoft.Extensions.Logging;
using Npgsql;

namespace ComputeBank.EventStore;

/// <summary>Tuning of the <see cref="ProjectionDaemon"/>; the defaults are Marten's.</summary>
public sealed record ProjectionDaemonOptions
{
    /// <summary>
    /// Rows of the feed one page reads. The page applies them, with its checkpoint in one transaction, up to the last
    /// transaction boundary (the commit cut off at the end is read again by the next page); a commit larger than this
    /// is read with a larger window until its end is found.
    /// </summary>
    public int PageRows { get; init; } = DefaultPageRows;

    /// <summary>The default of <see cref="PageRows"/>.</summary>
    public const int DefaultPageRows = 4000;

    /// <summary>The most rows one page reads, as <see cref="PageRows"/> or while looking for the end of a larger commit;
    /// only a commit larger than this is applied in parts.</summary>
    public const int MaxPageRows = 65_536;

    /// <summary>Pause when a projection is caught up (or waiting at a gap).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Pause between attempts to become leader of a projection another node runs.</summary>
    public TimeSpan LeadershipRetry { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>How far one async projection is behind the global feed.</summary>
/// <param name="Projection">The projection's name.</param>
/// <param name="Checkpoint">The last sequence it applied (0 before its first page).</param>
/// <param name="HighWater">The newest sequence in the feed.</param>
/// <param name="Age">How long the oldest event it has not applied yet has waited (zero when caught up).</param>
public sealed record ProjectionLag(string Projection, long Checkpoint, long HighWater, TimeSpan Age)
{
    /// <summary>Events between the checkpoint and the newest event.</summary>
    public long Events => Math.Max(0, HighWater - Checkpoint);
}

/// <summary>Progress of <see cref="ProjectionDaemon.RebuildAsync"/>, reported after every page.</summary>
/// <param name="Projection">The projection being rebuilt.</param>
/// <param name="EventsProcessed">Events applied so far.</param>
/// <param name="LastSequence">The checkpoint reached.</param>
/// <param name="TargetSequence">The highest sequence when the rebuild started; the rebuild ends when it is reached.</param>
public sealed record RebuildProgress(string Projection, long EventsProcessed, long LastSequence, long TargetSequence);

/// <summary>
/// Runs async projections behind the global feed's high-water mark (<see cref="MartenEventStore.ReadAllAsync"/>, which
/// never passes a gap a running transaction could still fill), in pages of whole transactions, so a read model's
/// checkpoint never shows half of a commit (<see cref="MartenEventStore.ReadAllTransactionsAsync"/>). Each projection has one leader across all nodes: the
/// node holding a session-level advisory lock on a dedicated, unpooled connection. A page is applied and its
/// checkpoint advanced in one transaction, after re-checking the checkpoint under <c>FOR UPDATE</c>, so each event is
/// projected exactly once even if leadership moves.
/// </summary>
public sealed class ProjectionDaemon : IAsyncDisposable
{
    private readonly MartenEventStore _store;
    private readonly ProjectionDaemonOptions _options;
    private readonly NpgsqlDataSource _leaderConnections;
    private readonly ILogger _logger;
    private readonly Dictionary<string, Runner> _runners;
    private CancellationTokenSource? _stopping;
    private Task[] _loops = [];

    /// <summary>Creates a daemon for <paramref name="projections"/> (unique names); call <see cref="Start"/> to run them.</summary>
    public ProjectionDaemon(MartenEventStore store, IEnumerable<IAsyncProjection> projections, ProjectionDaemonOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(projections);
        _store = store;
        _options = options ?? new ProjectionDaemonOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.PageRows, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.PageRows, ProjectionDaemonOptions.MaxPageRows, nameof(options));
        _logger = store.LoggerFactory.CreateLogger<ProjectionDaemon>();
        _runners = projections.ToDictionary(p => p.Name, p => new Runner(p, store.Statements.ProjectionLockKey(p.Name)), StringComparer.Ordinal);
        // Leadership connections must really close when given up: a pooled one would keep the lock while idle.
        _leaderConnections = new NpgsqlDataSourceBuilder(store.ConnectionString) { ConnectionStringBuilder = { Pooling = false } }.Build();
    }

    /// <summary>Starts one loop per projection; each first competes for leadership.</summary>
    public void Start()
    {
        if (_stopping is not null)
        {
            throw new InvalidOperationException("The daemon is already running.");
        }

        _stopping = new CancellationTokenSource();
        var token = _stopping.Token;
        _loops = [.. _runners.Values.Select(r => Task.Run(() => RunAsync(r, token), CancellationToken.None))];
    }

    /// <summary>Stops every loop after its current page and gives up leadership.</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        // Two stops may race (the host's shutdown and its disposal): only the first cancels and disposes.
        var stopping = Interlocked.Exchange(ref _stopping, null);
        if (stopping is null)
        {
            await Task.WhenAll(_loops).WaitAsync(ct);
            return;
        }

        await stopping.CancelAsync();
        await Task.WhenAll(_loops).WaitAsync(ct);
        stopping.Dispose();
    }

    /// <summary>Whether this node currently leads <paramref name="projection"/>.</summary>
    public bool IsLeader(string projection) => _runners[projection].Leader is not null;

    /// <summary>
    /// Rebuilds a projection from zero: resets the read model and the checkpoint in one transaction, then replays
    /// the feed page by page up to the highest sequence at the start, reporting after each page. Pauses this node's
    /// loop for the projection meanwhile; fails if another node leads it.
    /// </summary>
    public async Task RebuildAsync(string name, IProgress<RebuildProgress>? progress, CancellationToken ct)
    {
        if (!_runners.TryGetValue(name, out var runner))
        {
            throw new ArgumentException($"No projection named '{name}' in this daemon.", nameof(name));
        }

        await runner.Gate.WaitAsync(ct);
        var temporaryLeader = false;
        try
        {
            if (runner.Leader is null)
            {
                temporaryLeader = await TryLeadAsync(runner, ct)
                    ? true
                    : throw new InvalidOperationException($"Projection '{name}' is led by another node; rebuild it there.");
            }

            long target;
            await using (var connection = await _store.DataSource.OpenConnectionAsync(ct))
            await using (var transaction = await connection.BeginTransactionAsync(ct))
            {
                await ExecuteAsync(connection, transaction, _store.Statements.EnsureProgress, ct, name);
                await runner.Projection.ResetAsync(connection, transaction, ct);
                await ExecuteAsync(connection, transaction, _store.Statements.SaveProgress, ct, name, 0L);
                await using var max = new NpgsqlCommand(_store.Statements.MaxSequence, connection, transaction);
                target = (long)(await max.ExecuteScalarAsync(ct))!;
                await transaction.CommitAsync(ct);
            }

            runner.Checkpoint = 0;
            long processed = 0;
            while (runner.Checkpoint is null || runner.Checkpoint < target)
            {
                var applied = await ApplyNextPageAsync(runner, ct);
                processed += applied;
                if (applied == 0)
                {
                    await Task.Delay(_options.PollInterval, ct);
                    continue;
                }

                progress?.Report(new RebuildProgress(name, processed, runner.Checkpoint ?? 0, target));
            }

            Log.Rebuilt(_logger, name, processed, target);
        }
        finally
        {
            if (temporaryLeader)
            {
                await ResignAsync(runner);
            }

            runner.Gate.Release();
        }
    }

    /// <summary>Names of the projections this daemon runs.</summary>
    public IReadOnlyCollection<string> Projections => _runners.Keys;

    /// <summary>
    /// How far each projection of this daemon is behind the feed, from the tables (so it holds whichever node leads):
    /// events between its checkpoint and the newest event, and how long the oldest unprojected event has waited.
    /// </summary>
    public async Task<IReadOnlyList<ProjectionLag>> ReadLagAsync(CancellationToken ct)
    {
        await using var command = _store.DataSource.CreateCommand(_store.Statements.ProjectionLag);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. _runners.Keys] });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var lags = new List<ProjectionLag>();
        while (await reader.ReadAsync(ct))
        {
            lags.Add(new ProjectionLag(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), TimeSpan.FromSeconds(reader.GetDouble(3))));
        }

        return lags;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        await _leaderConnections.DisposeAsync();
    }

    private async Task RunAsync(Runner runner, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            var idle = true;
            try
            {
                await runner.Gate.WaitAsync(stopping);
                try
                {
                    if (runner.Leader is not null || await TryLeadAsync(runner, stopping))
                    {
                        idle = await ApplyNextPageAsync(runner, stopping) == 0;
                        if (idle)
                        {
                            await CheckLeadershipAsync(runner, stopping);
                        }
                    }
                }
                finally
                {
                    runner.Gate.Release();
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                Log.ProjectionFailed(_logger, runner.Projection.Name, runner.Checkpoint ?? 0, e);
                runner.Checkpoint = null;
            }

            if (idle)
            {
                try
                {
                    await Task.Delay(runner.Leader is null ? _options.LeadershipRetry : _options.PollInterval, stopping);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        await ResignAsync(runner);
    }

    private async Task<bool> TryLeadAsync(Runner runner, CancellationToken ct)
    {
        var connection = await _leaderConnections.OpenConnectionAsync(ct);
        try
        {
            await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = runner.LockKey });
            if ((bool)(await command.ExecuteScalarAsync(ct))!)
            {
                runner.Leader = connection;
                runner.Checkpoint = null;
                Log.LeadershipAcquired(_logger, runner.Projection.Name);
                return true;
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return false;
    }

    private async Task CheckLeadershipAsync(Runner runner, CancellationToken ct)
    {
        try
        {
            await using var ping = new NpgsqlCommand("SELECT 1", runner.Leader);
            await ping.ExecuteScalarAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The session (and with it the lock) is gone; another node may already lead.
            Log.LeadershipLost(_logger, runner.Projection.Name, e);
            await ResignAsync(runner);
        }
    }

    private static async Task ResignAsync(Runner runner)
    {
        if (runner.Leader is { } connection)
        {
            runner.Leader = null;
            runner.Checkpoint = null;
            await connection.DisposeAsync();
        }
    }

    private async Task<int> ApplyNextPageAsync(Runner runner, CancellationToken ct)
    {
        var name = runner.Projection.Name;
        if (runner.Checkpoint is null)
        {
            await using var connection = await _store.DataSource.OpenConnectionAsync(ct);
            await ExecuteAsync(connection, null, _store.Statements.EnsureProgress, ct, name);
            await using var read = new NpgsqlCommand(_store.Statements.ReadProgress, connection);
            read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
            runner.Checkpoint = (long)(await read.ExecuteScalarAsync(ct))!;
        }

        var checkpoint = runner.Checkpoint.Value;
        var page = await _store.ReadAllTransactionsAsync(checkpoint, _options.PageRows, ct);
        if (page.Count == 0)
        {
            return 0;
        }

        // A span per page that does work; idle polls make none, so a caught-up daemon is quiet in traces.
        using var activity = Telemetry.StartProjectionPage(name, checkpoint);
        activity?.SetTag(Telemetry.EventCountTag, page.Count);

        await using (var connection = await _store.DataSource.OpenConnectionAsync(ct))
        await using (var transaction = await connection.BeginTransactionAsync(ct))
        {
            await using (var check = new NpgsqlCommand(_store.Statements.LockProgress, connection, transaction))
            {
                check.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
                if ((long)(await check.ExecuteScalarAsync(ct))! != checkpoint)
                {
                    // Someone else moved the checkpoint (a rebuild, or a node that led before us): re-read it.
                    runner.Checkpoint = null;
                    return 0;
                }
            }

            await runner.Projection.ApplyAsync(connection, transaction, page, ct);
            await ExecuteAsync(connection, transaction, _store.Statements.SaveProgress, ct, name, page[^1].Sequence);
            await transaction.CommitAsync(ct);
        }

        runner.Checkpoint = page[^1].Sequence;
        Telemetry.EventsProjected.Add(page.Count, new KeyValuePair<string, object?>("computebank.projection", name));
        return page.Count;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken ct, string name, long? sequence = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = name });
        if (sequence is { } value)
        {
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = value });
        }

        await command.ExecuteNonQueryAsync(ct);
    }

    private sealed class Runner(IAsyncProjection projection, string lockKey)
    {
        public IAsyncProjection Projection { get; } = projection;

        public string LockKey { get; } = lockKey;

        public SemaphoreSlim Gate { get; } = new(1, 1);

        public NpgsqlConnection? Leader { get; set; }

        public long? Checkpoint { get; set; }
    }
}
