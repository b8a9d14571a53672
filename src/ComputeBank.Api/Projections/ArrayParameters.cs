using Npgsql;
using NpgsqlTypes;

namespace ComputeBank.Api.Projections;

/// <summary>The array parameters the projections pass to <c>unnest(...)</c>: one row per element, one round-trip.</summary>
internal static class ArrayParameters
{
    public static NpgsqlParameter Text(IEnumerable<string> values) => new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };

    public static NpgsqlParameter Bigint(IEnumerable<long> values) => new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint };
}
