using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;
using ComputeBank.Domain.Periods;
using ComputeBank.EventStore;

namespace ComputeBank.Api.Ledger;

/// <summary>What the event store must know of the ledger: the stable names of its events and snapshot states, and the
/// schema scripts of the modules around the store (the operation log, the read models).</summary>
public static class LedgerTypes
{
    public static EventTypeRegistry Registry()
    {
        var registry = new EventTypeRegistry();
        foreach (var (type, name) in DomainEvents.All)
        {
            registry.Register(type, name);
        }

        return registry
            .Register<AccountState>("V1.AccountState")
            .Register<HoldState>("V1.HoldState")
            .Register<PeriodState>("V1.PeriodState")
            .Register<Domain.Market.BookState>("V1.BookState")
            .Register<Domain.Market.OfferState>("V1.OfferState")
            .Register<Domain.Market.TradeState>("V1.TradeState")
            .Register<Domain.Market.PaymentState>("V1.PaymentState");
    }

    /// <summary>Migration modules applied after the store's own scripts, each versioned on its own.</summary>
    public static IReadOnlyList<MigrationModule> Modules { get; } =
    [
        new("messaging", typeof(Messaging.CommandBus).Assembly),
        new("read-models", typeof(LedgerTypes).Assembly),
    ];
}
