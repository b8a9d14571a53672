namespace ComputeBank.Domain;

/// <summary>One event as the model stored it: stream, 1-based stream version, global 1-based sequence.</summary>
public sealed record ModelEvent(string StreamId, long Version, long Sequence, object Event);

/// <summary>The answer to a submission; <see cref="Replayed"/> when it is the remembered answer to an earlier one.</summary>
public sealed record ModelResult(Decision Decision, bool Replayed);

/// <summary>
/// An in-memory, single-threaded ledger: runs commands in order through <see cref="Ledger"/> with an operation log, the
/// way the command bus does. Same operation id and fingerprint: the first decision again and nothing appended (rejections
/// included, like TigerBeetle); same id with another fingerprint: <c>operation_id_conflict</c>. States are kept as JSON
/// snapshots (as the bus does) unless <paramref name="snapshotThroughJson"/> is false. Pure: test and sample quality.
/// </summary>
public sealed class LedgerModel(LedgerCatalogue catalogue, bool snapshotThroughJson = true)
{
    private readonly Dictionary<string, object?> _states = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _versions = new(StringComparer.Ordinal);
    private readonly List<ModelEvent> _events = [];
    private readonly Dictionary<OperationId, (string Fingerprint, Decision Decision)> _operations = [];

    public LedgerCatalogue Catalogue { get; } = catalogue;

    public IReadOnlyList<ModelEvent> Events => _events;

    /// <summary>Stream ids that exist (have at least one event).</summary>
    public IEnumerable<string> StreamIds => _versions.Keys;

    public object? State(string streamId) => Load(streamId);

    public ModelResult Submit(LedgerCommand command)
    {
        var fingerprint = CommandFingerprint.Of(command);
        if (_operations.TryGetValue(command.OperationId, out var first))
        {
            return string.Equals(first.Fingerprint, fingerprint, StringComparison.Ordinal)
                ? new ModelResult(first.Decision, Replayed: true)
                : new ModelResult(new Rejected(RejectionCodes.OperationIdConflict, $"operation '{command.OperationId}' was used with other fields"), false);
        }

        var loaded = new Dictionary<string, object?>(StringComparer.Ordinal);
        while (Ledger.StreamsToLoad(command, loaded).Where(id => !loaded.ContainsKey(id)).ToList() is { Count: > 0 } missing)
        {
            foreach (var id in missing)
            {
                loaded[id] = Load(id);
            }
        }

        var decision = Ledger.Decide(command, loaded, Catalogue);
        if (decision is Accepted accepted)
        {
            foreach (var change in accepted.Changes)
            {
                var state = Load(change.StreamId);
                foreach (var @event in change.Events)
                {
                    state = Ledger.Evolve(change.StreamId, state, @event);
                    var version = _versions[change.StreamId] = _versions.GetValueOrDefault(change.StreamId) + 1;
                    _events.Add(new ModelEvent(change.StreamId, version, _events.Count + 1, @event));
                }

                _states[change.StreamId] = snapshotThroughJson ? DomainJson.SerializeState(state) : state;
            }
        }

        _operations[command.OperationId] = (fingerprint, decision);
        return new ModelResult(decision, Replayed: false);
    }

    private object? Load(string streamId) => _states.GetValueOrDefault(streamId) switch
    {
        string json when snapshotThroughJson => DomainJson.DeserializeState(Domain.StreamIds.AggregateTypeOf(streamId), json),
        var state => state,
    };
}
