namespace ComputeBank.EventStore;

/// <summary>
/// The runtime statements, built once per store with the validated schema name (an identifier, never a value;
/// values always travel as parameters). Kept textually stable so Npgsql's auto-preparation reuses their plans.
/// </summary>
internal sealed class Sql(string schema)
{
    public const string EventColumns = "e.seq_id, e.stream_id, e.version, e.type, e.data, e.metadata, e.timestamp, e.hash, e.previous_hash";

    // The commit timestamp of the events of a session: taken after the fetch's row locks, so a stream's timestamps grow
    // with its versions whatever order the transactions began in.
    public const string ClockTimestamp = "SELECT clock_timestamp()";

    // An append at any version, or to a stream not created yet: there may be no row to lock, so two such appends would
    // race to the same version. Ours queue on a transaction-scoped advisory lock per stream, in id order,
    // and then read the current versions in a statement of their own (which sees what the previous holder committed).
    public string LockForAnyVersion { get; } =
        $"SELECT count(pg_advisory_xact_lock(hashtextextended('{schema}.any-version:' || id, 0))) FROM (SELECT id FROM unnest($1::text[]) AS w(id) ORDER BY id) w";

    // $1 in id order: the rows are locked in that order (a locking clause cannot sit on the outer side of a join).
    public string LockedVersions { get; } =
        $"SELECT w.id, coalesce((SELECT s.version FROM {schema}.mt_streams s WHERE s.id = w.id FOR UPDATE), 0) FROM unnest($1::text[]) AS w(id)";

    public string StoreSnapshot { get; } =
        $"""
        INSERT INTO {schema}.snapshots AS t (stream_id, version, type, data)
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::jsonb[])
        ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, type = excluded.type, data = excluded.data, created_at = now()
        WHERE t.version < excluded.version
        """;

    // Streams are joined from unnest($1) here and in FetchForWriting rather than matched with "s.id = ANY($1)": in a
    // prepared statement's generic plan that filter compares every stream row with the whole array.
    public string LockForUpdate { get; } = $"SELECT s.id FROM unnest($1::text[]) AS w(id) JOIN {schema}.mt_streams s ON s.id = w.id ORDER BY s.id FOR UPDATE OF s";

    public string LockForShare { get; } = $"SELECT s.id FROM unnest($1::text[]) AS w(id) JOIN {schema}.mt_streams s ON s.id = w.id ORDER BY s.id FOR SHARE OF s";

    public const string SetLockTimeout = "SELECT set_config('lock_timeout', $1, true)";

    // One statement, so the stream row, its snapshot and its events come from one snapshot of the database. A stream
    // whose state the caller already holds at a known version ($2, $3) gets no snapshot, only the events after it.
    // Snapshot and events are LATERAL lookups behind OFFSET 0 (which keeps the planner from flattening them): one
    // index probe per stream. As plain joins, a group commit's load of a thousand streams was planned as a hash join
    // over the WHOLE events table (91 ms at 200,000 events and growing with it; 8 ms this way, whatever its size).
    public string FetchForWriting { get; } =
        $"""
        SELECT s.id, s.version, s.type, sn.version, sn.type, sn.data, {EventColumns}, k.known
        FROM unnest($1::text[]) AS w(id)
        JOIN {schema}.mt_streams s ON s.id = w.id
        LEFT JOIN unnest($2::text[], $3::bigint[]) AS k(id, known) ON k.id = s.id AND k.known <= s.version
        LEFT JOIN LATERAL (SELECT * FROM {schema}.snapshots sn WHERE k.known IS NULL AND sn.stream_id = s.id AND sn.version <= s.version OFFSET 0) sn ON true
        LEFT JOIN LATERAL (SELECT * FROM {schema}.events e WHERE e.stream_id = s.id AND e.version > coalesce(k.known, sn.version, 0) AND e.version <= s.version OFFSET 0) e ON true
        ORDER BY s.id, e.version
        """;

    public string ReadStream { get; } =
        $"""
        SELECT {EventColumns} FROM {schema}.events e
        WHERE e.stream_id = $1 AND e.version >= $2 AND e.version <= $3 AND ($4::timestamptz IS NULL OR e.timestamp <= $4)
        ORDER BY e.version
        """;

    // Marten never updates an event row (we do not archive), so xmin (the writer) is the transaction that appended it.
    // The page, the in-progress transaction ids and the snapshot's xmax come from the same snapshot: a gap in the page
    // can only be filled by one of those transactions or by one at or above xmax (see GapTracker).
    public string ReadAll { get; } = FeedPage(schema,
        $"{schema}.event_metadata(m.correlation_id, m.causation_id, m.user_name, m.headers) AS metadata, m.timestamp, h.hash, h.previous_hash",
        $"LEFT JOIN LATERAL (SELECT l.hash, l.previous_hash FROM {schema}.event_hashes l WHERE l.seq_id = m.seq_id) h ON true");

    // The feed as projections read it: no metadata object and no hash link (a third of the row's cost and most of its
    // bytes, which no read model uses).
    public string ReadAllForProjections { get; } = FeedPage(schema, "m.timestamp", string.Empty);

    // The writing transaction comes last in every row (readers take it from the last column).
    private static string FeedPage(string schema, string columns, string join) =>
        $"""
        SELECT x.xip, x.xmax, e.*
        FROM (SELECT ARRAY(SELECT t::text::bigint FROM pg_snapshot_xip(s.snapshot) t) AS xip, pg_snapshot_xmax(s.snapshot)::text::bigint AS xmax
              FROM (SELECT pg_current_snapshot() AS snapshot) s) x
        LEFT JOIN LATERAL (
            SELECT m.seq_id, m.stream_id, m.version, m.type, m.data, {columns}, m.writer
            FROM (SELECT r.*, r.xmin::text::bigint AS writer FROM {schema}.mt_events r WHERE r.seq_id > $1 ORDER BY r.seq_id LIMIT $2) m
            {join}
            WHERE m.stream_id <> 'mt_tombstone') e ON true
        ORDER BY e.seq_id
        """;

    // Run after a page that shows a new gap: the id it assigns is above every transaction id handed out before that
    // page's snapshot, so it bounds the transactions at or above the snapshot's xmax that could fill the gap.
    public const string TransactionIdBound = "SELECT pg_current_xact_id()::text::bigint";

    // Recomputes every link in one pass with window functions and keeps the first broken one per stream; a stream
    // whose events all check out is then compared with its stream row (version and chain head) to catch a deleted tail.
    public string VerifyChains { get; } =
        $"""
        WITH links AS (
            SELECT e.stream_id, e.version, e.hash, e.previous_hash,
                   {schema}.event_hash(e.stream_id, e.version, e.type, e.data, e.metadata, e.timestamp, e.previous_hash) AS recomputed,
                   lag(e.version, 1, 0::bigint) OVER w AS prior_version,
                   lag(e.hash) OVER w AS prior_hash,
                   last_value(e.version) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_version,
                   last_value(e.hash) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_hash
            FROM {schema}.events e
            WHERE $1::text IS NULL OR e.stream_id = $1
            WINDOW w AS (PARTITION BY e.stream_id ORDER BY e.version)
        ), link_breaks AS (
            SELECT DISTINCT ON (stream_id) stream_id, version,
                   CASE WHEN version <> prior_version + 1 THEN 1
                        WHEN previous_hash IS DISTINCT FROM prior_hash THEN 2
                        ELSE 0 END AS kind,
                   CASE WHEN version <> prior_version + 1 THEN format('version %s follows version %s', version, prior_version)
                        WHEN previous_hash IS DISTINCT FROM prior_hash THEN 'previous hash is not the hash of the event before'
                        ELSE 'stored hash does not match the content' END AS detail
            FROM links
            WHERE version <> prior_version + 1 OR previous_hash IS DISTINCT FROM prior_hash OR hash IS DISTINCT FROM recomputed
            ORDER BY stream_id, version
        ), heads AS (
            SELECT DISTINCT stream_id, last_version, last_hash FROM links
        )
        SELECT stream_id, version, kind, detail FROM link_breaks
        UNION ALL
        SELECT coalesce(s.id, h.stream_id), coalesce(s.version, 0), 3,
               format('stream row (version %s, head %s) does not match the last stored event (version %s, hash %s)',
                      coalesce(s.version, 0), coalesce(s.last_hash, '-'), coalesce(h.last_version, 0), coalesce(h.last_hash, '-'))
        FROM (SELECT st.id, st.version, c.hash AS last_hash FROM {schema}.mt_streams st
              LEFT JOIN {schema}.event_hashes c ON c.stream_id = st.id AND c.version = st.version
              WHERE ($1::text IS NULL OR st.id = $1) AND st.id <> 'mt_tombstone') s
        FULL JOIN heads h ON h.stream_id = s.id
        WHERE NOT EXISTS (SELECT 1 FROM link_breaks b WHERE b.stream_id = coalesce(s.id, h.stream_id))
          AND (s.version IS DISTINCT FROM h.last_version OR s.last_hash IS DISTINCT FROM h.last_hash)
        ORDER BY 1
        """;

    public string ProjectionLockKey(string projection) => $"computebank.eventstore.projection:{schema}:{projection}";

    public string EnsureProgress { get; } = $"INSERT INTO {schema}.projection_progress (name) VALUES ($1) ON CONFLICT (name) DO NOTHING";

    public string ReadProgress { get; } = $"SELECT last_sequence FROM {schema}.projection_progress WHERE name = $1";

    public string LockProgress { get; } = $"SELECT last_sequence FROM {schema}.projection_progress WHERE name = $1 FOR UPDATE";

    public string SaveProgress { get; } = $"UPDATE {schema}.projection_progress SET last_sequence = $2, updated_at = now() WHERE name = $1";

    public string MaxSequence { get; } = $"SELECT coalesce(max(seq_id), 0) FROM {schema}.mt_events";

    /// <summary>Per projection name ($1, text[]): checkpoint, newest sequence, and seconds the oldest unapplied event
    /// has waited (0 when caught up). A projection that never ran counts from sequence 0.</summary>
    public string ProjectionLag { get; } = $"""
        SELECT n.name, coalesce(p.last_sequence, 0), h.high,
               coalesce(extract(epoch FROM now() - oldest.timestamp)::float8, 0)
        FROM unnest($1::text[]) AS n(name)
        LEFT JOIN {schema}.projection_progress p ON p.name = n.name
        CROSS JOIN (SELECT coalesce(max(seq_id), 0) AS high FROM {schema}.mt_events) h
        LEFT JOIN LATERAL (
            SELECT e.timestamp FROM {schema}.mt_events e WHERE e.seq_id > coalesce(p.last_sequence, 0) ORDER BY e.seq_id LIMIT 1
        ) oldest ON true
        ORDER BY n.name
        """;
}
