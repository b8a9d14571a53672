namespace ComputeBank.Messaging;

/// <summary>Group commit and retry settings of the <see cref="CommandBus"/>.</summary>
public sealed class CommandBusOptions
{
    /// <summary>Most commands decided and committed in one transaction. 1 turns group commit off.</summary>
    public int MaxBatchSize { get; set; } = 1000;

    /// <summary>How long a committer lingers after the first command of a batch for more to arrive (0: take what is queued).</summary>
    public TimeSpan Window { get; set; } = TimeSpan.Zero;

    /// <summary>Transactions a node runs at once; two keep the database busy while the node decides the next batch.</summary>
    public int Committers { get; set; } = 2;

    /// <summary>Attempts for a batch that meets a concurrency conflict or a lost connection before its callers get 503.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>First retry delay; it doubles per attempt, with full jitter.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Most submissions (a single command, or a batch: its items are kept together so that they commit in
    /// order) waiting for a committer; beyond it callers wait to enqueue (back-pressure).</summary>
    public int QueueCapacity { get; set; } = 100_000;

    /// <summary>Committed stream states kept in memory between group commits, so a hot stream is not read back and
    /// deserialised on every commit (0 switches the cache off; every load then reads snapshot and events).</summary>
    public int StateCacheCapacity { get; set; } = 100_000;
}
