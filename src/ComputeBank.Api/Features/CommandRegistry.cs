using ComputeBank.Api.Features.CapturingHolds;
using ComputeBank.Api.Features.ClosingPeriods;
using ComputeBank.Api.Features.Depositing;
using ComputeBank.Api.Features.ExpiringHolds;
using ComputeBank.Api.Features.FreezingAccounts;
using ComputeBank.Api.Features.OpeningAccounts;
using ComputeBank.Api.Features.PlacingHolds;
using ComputeBank.Api.Features.ReleasingHolds;
using ComputeBank.Api.Features.SettingCreditLimits;
using ComputeBank.Api.Features.Transferring;
using ComputeBank.Api.Features.TransferringAcrossPeriods;
using ComputeBank.Api.Features.Withdrawing;
using ComputeBank.Api.Features.CancellingTrades;
using ComputeBank.Api.Features.ListingOffers;
using ComputeBank.Api.Features.MarketDeadlines;
using ComputeBank.Api.Features.PayingTrades;
using ComputeBank.Api.Features.PlacingOrders;
using ComputeBank.Api.Features.WithdrawingOffers;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.Messaging;

namespace ComputeBank.Api.Features;

/// <summary>
/// Every command kind the API knows, in the order their endpoints are mapped (and documented). Endpoints, batches,
/// <c>POST /commands</c>, the durable queue, authorization, the OpenAPI document and the bus handlers all read this list;
/// a new command is its slice's <see cref="CommandKind"/> plus one line here.
/// </summary>
public static class CommandRegistry
{
    public static IReadOnlyList<CommandKind> All { get; } =
    [
        OpenAccountEndpoint.Kind, DepositEndpoint.Kind, WithdrawEndpoint.Kind, TransferEndpoint.Kind, TransferAcrossPeriodsEndpoint.Kind,
        PlaceHoldEndpoint.Kind, CaptureHoldEndpoint.Kind, ReleaseHoldEndpoint.Kind, SetCreditLimitEndpoint.Kind,
        AccountStatusEndpoints.Freeze, AccountStatusEndpoints.Unfreeze, AccountStatusEndpoints.Close, ClosePeriodEndpoint.Kind,
        ListOfferEndpoint.Kind, WithdrawOfferEndpoint.Kind, PlaceOrderEndpoint.Kind, PayTradeEndpoint.Kind, CancelTradeEndpoint.Kind,
        HoldExpiry.Kind, TradeExpiry.Kind, OfferExpiry.Kind,
    ];

    /// <summary>The kinds clients may send (with a route): the types a batch item or <c>POST /commands</c> may name.</summary>
    public static IReadOnlyList<CommandKind> Offered { get; } = [.. All.Where(k => k.Route is not null)];

    /// <summary>Every kind by its name in batches and on the queue.</summary>
    public static IReadOnlyDictionary<string, CommandKind> ByType { get; } = All.ToDictionary(k => k.Type, StringComparer.Ordinal);

    /// <summary>The offered kinds by name.</summary>
    public static IReadOnlyDictionary<string, CommandKind> OfferedByType { get; } = Offered.ToDictionary(k => k.Type, StringComparer.Ordinal);

    private static readonly Dictionary<Type, CommandKind> ByCommandType = All.ToDictionary(k => k.CommandType);

    /// <summary>The authorization rule of a command: its kind's roles and ownership; nobody's for an unknown command.</summary>
    public static CommandRule RuleOf(object command) =>
        command is LedgerCommand ledger && ByCommandType.TryGetValue(command.GetType(), out var kind)
            ? kind.RuleOf(ledger)
            : new CommandRule("send " + command.GetType().Name, []);

    /// <summary>The bus handlers, one per kind.</summary>
    public static HandlerRegistry Handlers(LedgerCatalogue catalogue, string schema)
    {
        var handlers = new HandlerRegistry();
        foreach (var kind in All)
        {
            kind.Register(handlers, catalogue, schema);
        }

        return handlers;
    }
}
