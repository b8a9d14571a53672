using ComputeBank.Api.Security;
using ComputeBank.Api.Ledger;
using ComputeBank.Domain;
using ComputeBank.EventStore;
using ComputeBank.Messaging;
using Npgsql;

namespace ComputeBank.Api.Features.ClosingPeriods;

/// <summary>POST /api/v1/periods/{period}/close: operator closes a period with <c>expire</c> or <c>rollover</c>
/// (operation id from <c>Idempotency-Key</c> or <c>operationId</c>; a period closes once either way).</summary>
public static class ClosePeriodEndpoint
{
    public static readonly CommandKind Kind = new CommandKind<ClosePeriodRequest, ClosePeriod>
    {
        Type = "period-close",
        Route = CommandRoute.Post("/periods/{period}/close", "ClosePeriod"),
        SuccessStatus = StatusCodes.Status200OK,
        Policy = Policies.Operator,
        Action = "close a period",
        CustomHandler = (ledger, schema) => new ClosePeriodHandler(ledger, schema),
        Summary = "Close a period",
        Description = "An operator closes a period: every remaining balance in it expires or rolls over to rolloverTo, open holds are " +
                      "released, and no movement in the period is accepted any more.",
        IdempotencyKey = true,
        Problems = [new(StatusCodes.Status422UnprocessableEntity, "period_already_closed", "market_open_in_period")],
    };
}

/// <summary>
/// Closing a period touches every account with a balance or an open hold in it. It runs alone in its transaction: once
/// it holds the period's lock exclusively (every movement in the period holds it shared until it commits), it lists
/// those accounts from <c>account_buckets</c>, which no movement in the period can change any more.
/// </summary>
public sealed class ClosePeriodHandler(LedgerHandler<ClosePeriod> ledger, string schema) : ICommandHandler<ClosePeriod>
{
    private readonly LedgerHandler<ClosePeriod> _ledger = ledger;

    public bool RunsAlone => true;

    public IReadOnlyCollection<string> StreamsToLoad(ClosePeriod command, IReadOnlyDictionary<string, object?> loaded) =>
        _ledger.StreamsToLoad(command, loaded);

    public LockMode LockFor(ClosePeriod command, string streamId) => LockMode.Exclusive;

    public HandlerDecision Decide(ClosePeriod command, IReadOnlyDictionary<string, object?> states) => _ledger.Decide(command, states);

    public async ValueTask<ClosePeriod> PrepareAsync(ClosePeriod command, IEventSession session, CancellationToken cancellationToken)
    {
        await using var query = new NpgsqlCommand(
            $"SELECT DISTINCT account_id FROM {schema}.account_buckets WHERE period = $1 AND (posted <> 0 OR pending <> 0) ORDER BY account_id",
            session.Connection, session.Transaction);
        query.Parameters.Add(new NpgsqlParameter { Value = command.Period.ToString() });
        var accounts = new List<AccountId>();
        await using var reader = await query.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            accounts.Add(AccountId.Parse(reader.GetString(0)));
        }

        return command with { AccountIds = accounts };
    }
}
