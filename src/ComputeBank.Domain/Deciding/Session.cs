using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;
using ComputeBank.Domain.Market;
using ComputeBank.Domain.Periods;

namespace ComputeBank.Domain;

/// <summary>
/// One decision in progress: reads the loaded states, collects the events per stream, and folds them into working
/// states as they are emitted (so later checks and the outcome see them, and checked arithmetic catches overflow).
/// </summary>
internal sealed class Session(LedgerCommand command, IReadOnlyDictionary<string, object?> loaded, LedgerCatalogue catalogue)
{
    private readonly Dictionary<string, object?> _current = new(StringComparer.Ordinal);
    private readonly List<StreamChange> _changes = [];
    private readonly List<(AccountId Account, List<Bucket> Buckets)> _touched = [];

    public LedgerCatalogue Catalogue { get; } = catalogue;

    public OperationId OperationId => command.OperationId;

    public DateTimeOffset Now => command.Now;

    public AccountState? Account(AccountId id) => (AccountState?)State(StreamIds.Account(id));

    public HoldState? Hold(OperationId id) => (HoldState?)State(StreamIds.Hold(id));

    public bool IsClosed(Period period) => State(StreamIds.Period(period)) is PeriodState { Closed: true };

    public BookState? Book(ResourceClass resourceClass, Period period) => (BookState?)State(StreamIds.Book(resourceClass, period));

    public OfferState? Offer(OperationId offerId) => (OfferState?)State(StreamIds.Offer(offerId));

    public TradeState? Trade(OperationId tradeId) => (TradeState?)State(StreamIds.Trade(tradeId));

    public PaymentState? Payment(string reference) => (PaymentState?)State(StreamIds.Payment(reference));

    public void Emit(AccountId account, AccountEvent @event)
    {
        Append(StreamIds.Account(account), StreamIds.AccountType, @event);
        Touch(account, AccountEvolution.BucketsOf(@event, account));
    }

    public void Emit(OperationId holdId, HoldEvent @event) => Append(StreamIds.Hold(holdId), StreamIds.HoldType, @event);

    public void Emit(Period period, PeriodEvent @event) => Append(StreamIds.Period(period), StreamIds.PeriodType, @event);

    public void Emit(ResourceClass resourceClass, Period period, BookEvent @event) => Append(StreamIds.Book(resourceClass, period), StreamIds.BookType, @event);

    public void Emit(OperationId offerId, OfferEvent @event) => Append(StreamIds.Offer(offerId), StreamIds.OfferType, @event);

    public void Emit(OperationId tradeId, TradeEvent @event) => Append(StreamIds.Trade(tradeId), StreamIds.TradeType, @event);

    public void Emit(string paymentReference, PaymentEvent @event) => Append(StreamIds.Payment(paymentReference), StreamIds.PaymentType, @event);

    /// <summary>Marks an account (and buckets) to report in the outcome even when nothing was emitted for it.</summary>
    public void Touch(AccountId account, IEnumerable<Bucket> buckets)
    {
        var entry = _touched.FirstOrDefault(t => t.Account == account);
        if (entry.Account is null)
        {
            entry = (account, []);
            _touched.Add(entry);
        }

        entry.Buckets.AddRange(buckets.Where(b => !entry.Buckets.Contains(b)));
    }

    public Accepted Accept(
        PeriodTransferOutcome? periodTransfer = null, OperationId? holdId = null, OperationId? offerId = null, OrderOutcome? order = null, OperationId? tradeId = null)
    {
        var accounts = _touched
            .Where(t => Account(t.Account) is not null)
            .Select(t =>
            {
                var state = Account(t.Account)!;
                return new AccountOutcome(t.Account, state.Status, t.Buckets
                    .Select(b => new BucketOutcome(b, state.Balance(b).Posted, state.Balance(b).Pending, state.Available(b)))
                    .ToList());
            })
            .ToList();
        var hold = holdId is null ? null : Hold(holdId);
        return new Accepted(
            _changes,
            new OperationOutcome(OperationId, accounts, periodTransfer,
                hold is null ? null : new HoldOutcome(hold.HoldId, hold.Status, hold.Hours, hold.CapturedHours, hold.ExpiresAt),
                offerId is null ? null : new OfferOutcome(Offer(offerId)!),
                order,
                tradeId is null ? null : Trade(tradeId)));
    }

    private object? State(string streamId) =>
        _current.TryGetValue(streamId, out var state) ? state
        : loaded.TryGetValue(streamId, out state) ? state
        : throw new InvalidOperationException($"stream '{streamId}' was not loaded; load every id Ledger.StreamsToLoad returns");

    private void Append(string streamId, string aggregateType, object @event)
    {
        _current[streamId] = Ledger.Evolve(streamId, State(streamId), @event);
        var index = _changes.FindIndex(c => c.StreamId == streamId);
        if (index < 0)
        {
            _changes.Add(new StreamChange(streamId, aggregateType, [@event]));
        }
        else
        {
            _changes[index] = _changes[index] with { Events = [.. _changes[index].Events, @event] };
        }
    }
}

/// <summary>Field errors of one command, keyed by the HTTP field name; becomes <c>validation_failed</c>.</summary>
internal sealed class FieldErrors(LedgerCatalogue catalogue)
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public bool Any => _errors.Count > 0;

    public FieldErrors Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var messages))
        {
            _errors[field] = messages = [];
        }

        messages.Add(message);
        return this;
    }

    public FieldErrors Amount(string field, Hours hours)
    {
        if (hours.ValidateAmount() is { } error)
        {
            Add(field, error);
        }

        return this;
    }

    /// <summary>A price in CNY per hour: positive, at most <see cref="Market.TradeAmount.MaxUnitPrice"/>, whole fen.</summary>
    public FieldErrors Price(string field, decimal price) =>
        price <= 0 || price > Market.TradeAmount.MaxUnitPrice || decimal.Round(price, 2) != price
            ? Add(field, "must be greater than zero, at most 1000000000 and have at most 2 decimals")
            : this;

    public FieldErrors Bucket(Bucket bucket, string prefix = "") =>
        ResourceClass(bucket.ResourceClass, "resourceClass").Region(bucket.Region, prefix + "region").Period(bucket.Period, prefix + "period");

    public FieldErrors ResourceClass(ResourceClass resourceClass, string field)
    {
        if (!catalogue.HasResourceClass(resourceClass))
        {
            Add(field, $"unknown resource class '{resourceClass}'");
        }

        return this;
    }

    public FieldErrors Region(Region region, string field)
    {
        if (!catalogue.HasRegion(region))
        {
            Add(field, $"unknown region '{region}'");
        }

        return this;
    }

    public FieldErrors Period(Period period, string field)
    {
        if (period.Granularity != catalogue.PeriodGranularity)
        {
            Add(field, $"must be a {catalogue.PeriodGranularity.ToString().ToLowerInvariant()} period");
        }

        return this;
    }

    public FieldErrors Text(string? value, string field, int maxLength, bool required = false)
    {
        if (required && string.IsNullOrWhiteSpace(value))
        {
            Add(field, "is required");
        }
        else if (value is not null && value.Length > maxLength)
        {
            Add(field, $"must be at most {maxLength.ToString(System.Globalization.CultureInfo.InvariantCulture)} characters");
        }
        else if (value is not null && FreeText.Problem(value) is { } problem)
        {
            Add(field, problem);
        }

        return this;
    }

    public Rejected ToRejection() => new(
        RejectionCodes.ValidationFailed,
        "One or more fields are invalid.",
        _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal));
}
