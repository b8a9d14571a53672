using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;
using ComputeBank.Domain.Market;
using ComputeBank.Domain.Periods;

namespace ComputeBank.Domain;

/// <summary>The outcome of deciding a command. Closed: <see cref="Accepted"/> or <see cref="Rejected"/>.</summary>
public abstract record Decision
{
    private protected Decision()
    {
    }
}

/// <summary>The command is accepted: append these events (none for a repeated command) and answer with the outcome.</summary>
public sealed record Accepted(IReadOnlyList<StreamChange> Changes, OperationOutcome Outcome) : Decision;

/// <summary>A business rejection with a stable snake_case <paramref name="Code"/> (see <see cref="RejectionCodes"/>).</summary>
public sealed record Rejected(string Code, string Message, IReadOnlyDictionary<string, string[]>? Errors = null) : Decision;

/// <summary>Events to append to one stream, in order.</summary>
public sealed record StreamChange(string StreamId, string AggregateType, IReadOnlyList<object> Events);

/// <summary>What the HTTP answer needs. Stream versions and the global sequence are added by the command bus.</summary>
public sealed record OperationOutcome(
    OperationId OperationId,
    IReadOnlyList<AccountOutcome> Accounts,
    PeriodTransferOutcome? PeriodTransfer = null,
    HoldOutcome? Hold = null,
    OfferOutcome? Offer = null,
    OrderOutcome? Order = null,
    TradeState? Trade = null);

/// <summary>A touched non-system account after the operation, with its touched buckets.</summary>
public sealed record AccountOutcome(AccountId AccountId, AccountStatus Status, IReadOnlyList<BucketOutcome> Buckets);

public sealed record BucketOutcome(Bucket Bucket, Hours Posted, Hours Pending, Hours Available);

public sealed record PeriodTransferOutcome(Hours HoursDebited, Hours HoursCredited, ConversionRate Rate);

public sealed record HoldOutcome(OperationId HoldId, HoldStatus Status, Hours Hours, Hours CapturedHours, DateTimeOffset ExpiresAt);

/// <summary>An offer after the operation, with where its hours are.</summary>
public sealed record OfferOutcome(OfferState Offer);

/// <summary>What an order did: every hour asked filled, or some; and the trades it opened, in matching order.</summary>
public sealed record OrderOutcome(OperationId OrderId, bool Filled, Hours HoursFilled, IReadOnlyList<TradeState> Trades);

/// <summary>The stable rejection codes of DOMAIN.md and API.md that the ledger itself produces.</summary>
public static class RejectionCodes
{
    public const string ValidationFailed = "validation_failed";
    public const string AccountExistsWithDifferentFields = "account_exists_with_different_fields";
    public const string InvalidAccountKind = "invalid_account_kind";
    public const string PeriodClosed = "period_closed";
    public const string AccountFrozen = "account_frozen";
    public const string AccountClosed = "account_closed";
    public const string InsufficientCredits = "insufficient_credits";
    public const string AccountNotFound = "account_not_found";
    public const string SameAccount = "same_account";
    public const string NoConversionRate = "no_conversion_rate";
    public const string HoldNotFound = "hold_not_found";
    public const string HoldNotPending = "hold_not_pending";
    public const string CaptureExceedsHold = "capture_exceeds_hold";
    public const string AccountNotEmpty = "account_not_empty";
    public const string PeriodAlreadyClosed = "period_already_closed";
    public const string BalanceOverflow = "balance_overflow";
    public const string NoMatchingOffer = "no_matching_offer";
    public const string InsufficientSupply = "insufficient_supply";
    public const string OfferNotFound = "offer_not_found";
    public const string OfferNotOpen = "offer_not_open";
    public const string TradeNotFound = "trade_not_found";
    public const string TradeNotAwaitingPayment = "trade_not_awaiting_payment";
    public const string TradeExpired = "trade_expired";
    public const string MarketOpenInPeriod = "market_open_in_period";
    public const string PaymentAmountMismatch = "payment_amount_mismatch";
    public const string PaymentReferenceConflict = "payment_reference_conflict";

    /// <summary>Not the domain's: produced by the idempotency log (<c>LedgerModel</c>, the command bus).</summary>
    public const string OperationIdConflict = "operation_id_conflict";
}

/// <summary>Stream ids and aggregate type names.</summary>
public static class StreamIds
{
    public const string AccountType = "account";
    public const string HoldType = "hold";
    public const string PeriodType = "period";
    public const string BookType = "book";
    public const string OfferType = "offer";
    public const string TradeType = "trade";
    public const string PaymentType = "payment";

    public static string Account(AccountId id) => $"account-{id.Value}";

    public static string Hold(OperationId holdId) => $"hold-{holdId.Value}";

    public static string Period(Period period) => $"period-{period}";

    /// <summary>The market's book of one resource class and period (every region).</summary>
    public static string Book(ResourceClass resourceClass, Period period) => $"book-{resourceClass.Value}-{period}";

    public static string Offer(OperationId offerId) => $"offer-{offerId.Value}";

    public static string Trade(OperationId tradeId) => $"trade-{tradeId.Value}";

    /// <summary>The stream of one payment reference, which makes it pay one trade only.</summary>
    public static string Payment(string reference) => $"payment-{reference}";

    /// <summary>The aggregate type of a stream id, from its prefix.</summary>
    public static string AggregateTypeOf(string streamId) =>
        streamId.StartsWith("account-", StringComparison.Ordinal) ? AccountType
        : streamId.StartsWith("hold-", StringComparison.Ordinal) ? HoldType
        : streamId.StartsWith("period-", StringComparison.Ordinal) ? PeriodType
        : streamId.StartsWith("book-", StringComparison.Ordinal) ? BookType
        : streamId.StartsWith("offer-", StringComparison.Ordinal) ? OfferType
        : streamId.StartsWith("trade-", StringComparison.Ordinal) ? TradeType
        : streamId.StartsWith("payment-", StringComparison.Ordinal) ? PaymentType
        : throw new ArgumentException($"'{streamId}' is not a ledger stream id", nameof(streamId));
}

/// <summary>The facade the command bus calls: which streams to load, the pure decision, and the fold.</summary>
public static partial class Ledger
{
    /// <summary>
    /// Stream ids the command needs loaded before deciding. Called repeatedly with the states loaded so far until it
    /// returns no id that is not yet in <paramref name="loaded"/> (CaptureHold: first the hold, then its accounts and period).
    /// </summary>
    public static IReadOnlyList<string> StreamsToLoad(LedgerCommand command, IReadOnlyDictionary<string, object?> loaded)
    {
        var ids = new List<string>();
        switch (command)
        {
            case OpenAccount c: AddAccounts(ids, c.AccountId); break;
            case DepositCapacity c: AddAccounts(ids, c.AccountId); ids.Add(StreamIds.Period(c.Bucket.Period)); break;
            case WithdrawCredits c: AddAccounts(ids, c.AccountId); ids.Add(StreamIds.Period(c.Bucket.Period)); break;
            case TransferCredits c: AddAccounts(ids, c.FromAccountId, c.ToAccountId); ids.Add(StreamIds.Period(c.Bucket.Period)); break;
            case TransferAcrossPeriods c:
                AddAccounts(ids, c.FromAccountId, c.Destination);
                ids.Add(StreamIds.Period(c.FromPeriod));
                ids.Add(StreamIds.Period(c.ToPeriod));
                break;
            case PlaceHold c:
                ids.Add(StreamIds.Hold(c.HoldId));
                AddAccounts(ids, c.AccountId, c.BeneficiaryAccountId);
                ids.Add(StreamIds.Period(c.Bucket.Period));
                break;
            case CaptureHold c: AddHoldAndItsStreams(ids, loaded, c.HoldId, withPeriod: true); break;
            case ReleaseHold c: AddHoldAndItsStreams(ids, loaded, c.HoldId, withPeriod: false); break;
            case ExpireHold c: AddHoldAndItsStreams(ids, loaded, c.HoldId, withPeriod: false); break;
            case SetCreditLimit c: AddAccounts(ids, c.AccountId); break;
            case FreezeAccount c: AddAccounts(ids, c.AccountId); break;
            case UnfreezeAccount c: AddAccounts(ids, c.AccountId); break;
            case CloseAccount c: AddAccounts(ids, c.AccountId); break;
            case ClosePeriod c: AddPeriodAndItsAccounts(ids, loaded, c); break;
            case ListOffer c:
                ids.Add(StreamIds.Offer(c.OfferId));
                ids.Add(StreamIds.Book(c.Bucket.ResourceClass, c.Bucket.Period));
                AddAccounts(ids, c.ProviderAccountId);
                ids.Add(StreamIds.Period(c.Bucket.Period));
                break;
            case WithdrawOffer c: AddOfferAndItsStreams(ids, loaded, c.OfferId); break;
            case ExpireOffer c: AddOfferAndItsStreams(ids, loaded, c.OfferId); break;
            case PlaceOrder c: AddBookAndTheOffersAnOrderTakes(ids, loaded, c); break;
            case PayTrade c:
                ids.Add(StreamIds.Payment(c.PaymentReference));
                AddTradeAndItsStreams(ids, loaded, c.TradeId);
                break;
            case CancelTrade c: AddTradeAndItsStreams(ids, loaded, c.TradeId); break;
            case ExpireTrade c: AddTradeAndItsStreams(ids, loaded, c.TradeId); break;
            default: throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "unknown command");
        }

        return ids.Distinct(StringComparer.Ordinal).ToList();
    }

    private static void AddAccounts(List<string> ids, params AccountId?[] accounts)
    {
        foreach (var id in accounts)
        {
            if (id is not null)
            {
                ids.Add(StreamIds.Account(id));
            }
        }
    }

    // The hold and, once it is loaded, the accounts (and the period) it names.
    private static void AddHoldAndItsStreams(List<string> ids, IReadOnlyDictionary<string, object?> loaded, OperationId holdId, bool withPeriod)
    {
        ids.Add(StreamIds.Hold(holdId));
        if (loaded.GetValueOrDefault(StreamIds.Hold(holdId)) is HoldState hold)
        {
            AddAccounts(ids, hold.AccountId, hold.BeneficiaryAccountId);
            if (withPeriod)
            {
                ids.Add(StreamIds.Period(hold.Bucket.Period));
            }
        }
    }

    // The period, its rollover, the accounts named and, once they are loaded, their open holds in the period.
    private static void AddPeriodAndItsAccounts(List<string> ids, IReadOnlyDictionary<string, object?> loaded, ClosePeriod c)
    {
        ids.Add(StreamIds.Period(c.Period));
        if (c.RolloverTo is not null)
        {
            ids.Add(StreamIds.Period(c.RolloverTo));
        }

        foreach (var accountId in c.AccountIds)
        {
            AddAccounts(ids, accountId);
            if (loaded.GetValueOrDefault(StreamIds.Account(accountId)) is AccountState account)
            {
                ids.AddRange(account.OpenHolds.Where(h => h.Value.Bucket.Period == c.Period).Select(h => StreamIds.Hold(h.Key)));
            }
        }
    }

    // The offer and, once it is loaded, its book and its provider's account.
    private static void AddOfferAndItsStreams(List<string> ids, IReadOnlyDictionary<string, object?> loaded, OperationId offerId)
    {
        ids.Add(StreamIds.Offer(offerId));
        if (loaded.GetValueOrDefault(StreamIds.Offer(offerId)) is OfferState offer)
        {
            ids.Add(StreamIds.Book(offer.Bucket.ResourceClass, offer.Bucket.Period));
            AddAccounts(ids, offer.ProviderAccountId);
        }
    }

    // The trade and, once it is loaded, its offer, book, both accounts and period.
    private static void AddTradeAndItsStreams(List<string> ids, IReadOnlyDictionary<string, object?> loaded, OperationId tradeId)
    {
        ids.Add(StreamIds.Trade(tradeId));
        if (loaded.GetValueOrDefault(StreamIds.Trade(tradeId)) is TradeState trade)
        {
            ids.Add(StreamIds.Offer(trade.OfferId));
            ids.Add(StreamIds.Book(trade.Bucket.ResourceClass, trade.Bucket.Period));
            AddAccounts(ids, trade.SellerAccountId, trade.BuyerAccountId);
            ids.Add(StreamIds.Period(trade.Bucket.Period));
        }
    }

    // The book, the buyer and the period, and, once the book is loaded, the offers the order takes from and the trades it
    // will open: matching is a pure function of the book, so the decision takes the same ones.
    private static void AddBookAndTheOffersAnOrderTakes(List<string> ids, IReadOnlyDictionary<string, object?> loaded, PlaceOrder c)
    {
        var book = StreamIds.Book(c.ResourceClass, c.Period);
        ids.Add(book);
        AddAccounts(ids, c.BuyerAccountId);
        ids.Add(StreamIds.Period(c.Period));
        if (c.Hours.IsPositive && loaded.TryGetValue(book, out var state) && Matching(c, (BookState?)state) is Matched matched)
        {
            ids.AddRange(matched.Fills.Select(f => StreamIds.Offer(f.Offer.OfferId)));
            ids.AddRange(Enumerable.Range(1, matched.Fills.Count).Select(n => StreamIds.Trade(c.TradeId(n))));
        }
    }

    /// <summary>
    /// Pure decision. <paramref name="states"/> maps stream id to its current state (null: the stream does not exist) and
    /// must hold every id <see cref="StreamsToLoad"/> returns. Business outcomes are values, never exceptions; a balance
    /// that would overflow 64 bits is <c>balance_overflow</c>.
    /// </summary>
    public static Decision Decide(LedgerCommand command, IReadOnlyDictionary<string, object?> states, LedgerCatalogue catalogue)
    {
        var session = new Session(command, states, catalogue);
        try
        {
            return command switch
            {
                OpenAccount c => Opening(c, session),
                DepositCapacity c => Depositing(c, session),
                WithdrawCredits c => Withdrawing(c, session),
                TransferCredits c => Transferring(c, session),
                TransferAcrossPeriods c => TransferringAcrossPeriods(c, session),
                PlaceHold c => PlacingHold(c, session),
                CaptureHold c => CapturingHold(c, session),
                ReleaseHold c => ReleasingHold(c, session),
                ExpireHold c => ExpiringHold(c, session),
                SetCreditLimit c => SettingCreditLimit(c, session),
                FreezeAccount c => Freezing(c, session),
                UnfreezeAccount c => Unfreezing(c, session),
                CloseAccount c => ClosingAccount(c, session),
                ClosePeriod c => ClosingPeriod(c, session),
                ListOffer c => ListingOffer(c, session),
                WithdrawOffer c => ClosingOffer(c.OfferId, OfferCloseReason.Withdrawn, session),
                ExpireOffer c => ClosingOffer(c.OfferId, OfferCloseReason.Expired, session),
                PlaceOrder c => PlacingOrder(c, session),
                PayTrade c => PayingTrade(c, session),
                CancelTrade c => UndoingTrade(c.TradeId, TradeUndoReason.Cancelled, session),
                ExpireTrade c => UndoingTrade(c.TradeId, TradeUndoReason.Expired, session),
                _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "unknown command"),
            };
        }
        catch (OverflowException)
        {
            return new Rejected(RejectionCodes.BalanceOverflow, "a balance would exceed the 64-bit range of milli-hours");
        }
    }

    /// <summary>Folds one event of a stream into that stream's state (null: initial). Works for every aggregate.</summary>
    public static object? Evolve(string streamId, object? state, object @event) => StreamIds.AggregateTypeOf(streamId) switch
    {
        StreamIds.AccountType => AccountEvolution.Evolve((AccountState?)state, (AccountEvent)@event),
        StreamIds.HoldType => HoldEvolution.Evolve((HoldState?)state, (HoldEvent)@event),
        StreamIds.BookType => BookEvolution.Evolve((BookState?)state, (BookEvent)@event),
        StreamIds.OfferType => OfferEvolution.Evolve((OfferState?)state, (OfferEvent)@event),
        StreamIds.TradeType => TradeEvolution.Evolve((TradeState?)state, (TradeEvent)@event),
        StreamIds.PaymentType => PaymentEvolution.Evolve((PaymentState?)state, (PaymentEvent)@event),
        _ => PeriodEvolution.Evolve((PeriodState?)state, (PeriodEvent)@event),
    };

    private static Rejected Reject(string code, string message) => new(code, message);
}
