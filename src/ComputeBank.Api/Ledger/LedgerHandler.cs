using System.Text.Json.Nodes;
using ComputeBank.Domain;
using ComputeBank.EventStore;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Ledger;

/// <summary>
/// The bus handler of one ledger command type: asks the pure <see cref="Domain.Ledger"/> which streams to load and what
/// to decide, and turns its decision into the HTTP-shaped reply. Business rejections are remembered (a retry with the
/// same operation id answers the same, like TigerBeetle); validation failures are not, so a corrected request can go.
/// </summary>
public sealed class LedgerHandler<TCommand>(LedgerCatalogue catalogue, int successStatus, Func<TCommand, OperationOutcome, CommittedOperation, byte[]>? body = null)
    : ICommandHandler<TCommand>
    where TCommand : LedgerCommand
{
    public IReadOnlyCollection<string> StreamsToLoad(TCommand command, IReadOnlyDictionary<string, object?> loaded) =>
        Domain.Ledger.StreamsToLoad(command, loaded);

    /// <summary>Period streams are only read by movements, so they are locked shared; closing a period takes them exclusively.</summary>
    public LockMode LockFor(TCommand command, string streamId) =>
        command is not ClosePeriod && StreamIds.AggregateTypeOf(streamId) == StreamIds.PeriodType ? LockMode.Shared : LockMode.Exclusive;

    public HandlerDecision Decide(TCommand command, IReadOnlyDictionary<string, object?> states) =>
        Domain.Ledger.Decide(command, states, catalogue) switch
        {
            Accepted accepted => new HandlerAccepted(
                [.. accepted.Changes.Select(c => new StreamAppend(c.StreamId, c.AggregateType, c.Events))],
                committed => CommandReply.FromJson(successStatus, (body ?? OperationResults.Default)(command, accepted.Outcome, committed))),
            Rejected rejected => new HandlerRejected(RejectionReply(rejected), Remember: rejected.Code != RejectionCodes.ValidationFailed),
            var other => throw new InvalidOperationException($"Unknown decision {other.GetType().Name}"),
        };

    public static CommandReply RejectionReply(Rejected rejected)
    {
        var status = rejected.Code switch
        {
            RejectionCodes.ValidationFailed => 400,
            RejectionCodes.AccountNotFound or RejectionCodes.HoldNotFound or RejectionCodes.OfferNotFound or RejectionCodes.TradeNotFound => 404,
            RejectionCodes.AccountExistsWithDifferentFields or RejectionCodes.PaymentReferenceConflict => 409,
            _ => 422,
        };
        var extensions = rejected.Errors is { Count: > 0 } errors ? new JsonObject { ["errors"] = Http.Problems.ErrorsNode(errors) } : null;
        return CommandReply.Problem(status, rejected.Code, Titles.GetValueOrDefault(rejected.Code, "The command was refused"), rejected.Message, extensions);
    }

    private static readonly Dictionary<string, string> Titles = new(StringComparer.Ordinal)
    {
        [RejectionCodes.ValidationFailed] = "The request is not valid",
        [RejectionCodes.AccountNotFound] = "Account not found",
        [RejectionCodes.HoldNotFound] = "Hold not found",
        [RejectionCodes.AccountExistsWithDifferentFields] = "Account exists with different fields",
        [RejectionCodes.InsufficientCredits] = "Insufficient credits",
        [RejectionCodes.PeriodClosed] = "Period closed",
        [RejectionCodes.AccountFrozen] = "Account frozen",
        [RejectionCodes.AccountClosed] = "Account closed",
        [RejectionCodes.InvalidAccountKind] = "Invalid account kind",
        [RejectionCodes.SameAccount] = "Same account",
        [RejectionCodes.NoConversionRate] = "No conversion rate",
        [RejectionCodes.HoldNotPending] = "Hold not pending",
        [RejectionCodes.CaptureExceedsHold] = "Capture exceeds hold",
        [RejectionCodes.AccountNotEmpty] = "Account not empty",
        [RejectionCodes.PeriodAlreadyClosed] = "Period already closed",
        [RejectionCodes.BalanceOverflow] = "Balance overflow",
        [RejectionCodes.NoMatchingOffer] = "No matching offer",
        [RejectionCodes.InsufficientSupply] = "Insufficient supply",
        [RejectionCodes.OfferNotFound] = "Offer not found",
        [RejectionCodes.OfferNotOpen] = "Offer not open",
        [RejectionCodes.TradeNotFound] = "Trade not found",
        [RejectionCodes.TradeNotAwaitingPayment] = "Trade not awaiting payment",
        [RejectionCodes.TradeExpired] = "Trade expired",
        [RejectionCodes.PaymentAmountMismatch] = "Payment amount mismatch",
        [RejectionCodes.PaymentReferenceConflict] = "Payment reference conflict",
        [RejectionCodes.MarketOpenInPeriod] = "Market open in period",
    };
}

/// <summary>Folds any ledger stream (account, hold, period) for the bus.</summary>
public sealed class LedgerFolder : IStreamFolder
{
    public object? Evolve(string streamId, object? state, object @event) => Domain.Ledger.Evolve(streamId, state, @event);
}
