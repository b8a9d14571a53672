using System.Text.Json.Nodes;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Hosting;
using ComputeBank.Api.Http;
using ComputeBank.Api.Projections;
using ComputeBank.Domain;
using Npgsql;

namespace ComputeBank.Api.Features.GettingPool;

/// <summary>
/// GET /api/v1/pools/{resourceClass}/{region}/{period}: the "computing power supermarket" inventory of one bucket over
/// every non-system account, from the async read model <c>pools</c> (live generation). <c>asOfSequence</c> is the event
/// sequence the totals include; a bucket nobody used yet is an empty pool.
/// </summary>
public static class GetPoolEndpoint
{
    public static void Map(IEndpointRouteBuilder api) =>
        api.MapGet("/pools/{resourceClass}/{region}/{period}", GetAsync)
            .WithName("GetPool")
            .ReadsFromReplica()
            .RequireAuthorization(Security.Policies.ReadAll)
            .WithTags(ApiDocs.QueriesTag)
            .WithSummary("Get a pool's totals")
            .WithDescription("Totals of a bucket over all accounts: deposited, withdrawn, moved across periods in and out, held and available (an async projection; asOfSequence says how far it has read).")
            .Produces<PoolView>(StatusCodes.Status200OK, ApiDocs.Json)
            .ProducesProblems(400, "validation_failed");

    private static async Task<IResult> GetAsync(
        string resourceClass, string region, string period, ReadReplica replica, LedgerCatalogue catalogue, CancellationToken ct)
    {
        var store = replica.Store;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (!ResourceClass.TryParse(resourceClass, out var rc, out var error) || !catalogue.HasResourceClass(rc))
        {
            errors["resourceClass"] = [error ?? $"'{resourceClass}' is not in the catalogue"];
        }

        if (!Region.TryParse(region, out var rg, out error) || !catalogue.HasRegion(rg))
        {
            errors["region"] = [error ?? $"'{region}' is not in the catalogue"];
        }

        if (!Period.TryParse(period, out var p, out error) || p.Granularity != catalogue.PeriodGranularity)
        {
            errors["period"] = [error ?? $"'{period}' is not a period of the configured granularity"];
        }

        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        var bucket = new Bucket(rc!, rg!, p!);
        var table = new PoolTable(store.Schema);
        await using var command = store.DataSource.CreateCommand(
            $"SELECT (SELECT last_sequence FROM {store.Schema}.projection_progress WHERE name = '{PoolsProjection.ProjectionName}'), x.* " +
            $"FROM (SELECT 1) one LEFT JOIN ({table.SelectLive} AND p.resource_class = $1 AND p.region = $2 AND p.period = $3) x ON true");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = bucket.ResourceClass.Value });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = bucket.Region.Value });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = bucket.Period.ToString() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var asOf = reader.IsDBNull(0) ? 0 : reader.GetInt64(0);
        var totals = reader.IsDBNull(1) ? new PoolTotals() : PoolTable.ReadRow(reader, 1).Totals;
        return Results.Json(new JsonObject
        {
            ["resourceClass"] = bucket.ResourceClass.Value,
            ["region"] = bucket.Region.Value,
            ["period"] = bucket.Period.ToString(),
            ["deposited"] = H(totals.Deposited),
            ["withdrawn"] = H(totals.Withdrawn),
            ["transferredBetweenAccounts"] = H(totals.TransferredBetweenAccounts),
            ["transferredAcrossPeriodsIn"] = H(totals.TransferredIn),
            ["transferredAcrossPeriodsOut"] = H(totals.TransferredOut),
            ["rolledOverIn"] = H(totals.RolledOverIn),
            ["rolledOverOut"] = H(totals.RolledOverOut),
            ["expired"] = H(totals.Expired),
            ["posted"] = H(totals.Posted),
            ["held"] = H(totals.Held),
            ["available"] = H(totals.Available),
            ["asOfSequence"] = asOf,
        });
    }

    private static string H(long milliHours) => new Hours(milliHours).ToString();
}
