using System.ComponentModel.DataAnnotations;
using System.Globalization;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.Transferring;

/// <summary>The body of POST /api/v1/transfers: credits move between two accounts within one bucket.</summary>
public sealed record TransferRequest : ICommandRequest<TransferCredits>
{
    /// <summary>The operation id of this transfer (1 to 128 printable ASCII characters).</summary>
    [RegularExpression(WirePatterns.OperationId)]
    public required string TransferId { get; init; }

    /// <summary>The account debited.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string FromAccountId { get; init; }

    /// <summary>The account credited; must differ from <c>fromAccountId</c>.</summary>
    [RegularExpression(WirePatterns.AccountId)]
    public required string ToAccountId { get; init; }

    /// <summary>The resource class of the bucket (from the configured catalogue).</summary>
    [CatalogueValue(CatalogueList.ResourceClasses)]
    public required string ResourceClass { get; init; }

    /// <summary>The region of the bucket (from the configured catalogue).</summary>
    [CatalogueValue(CatalogueList.Regions)]
    public required string Region { get; init; }

    /// <summary>The period of the bucket, such as <c>2026-11</c>; it must not be closed.</summary>
    [RegularExpression(WirePatterns.Period)]
    public required string Period { get; init; }

    /// <summary>The hours moved: more than 0, at most 1,000,000,000, at most 3 decimals.</summary>
    [HoursInput]
    public required string Hours { get; init; }

    /// <summary>Optionally, what was paid for the credits (recorded with the transfer's events).</summary>
    public SettlementRequest? Settlement { get; init; }

    /// <summary>Validates the body and maps it to <see cref="TransferCredits"/>.</summary>
    public TransferCredits? ToCommand(RequestCheck check, CommandContext context)
    {
        var operationId = check.OperationId(TransferId);
        var from = check.AccountId(FromAccountId);
        var to = check.AccountId(ToAccountId);
        var bucket = check.Bucket(ResourceClass, Region, Period);
        var hours = check.Hours(Hours);
        var settlement = check.Nested(Settlement) is { } nested ? Settlement!.ToSettlement(nested) : null;
        return operationId is null || from is null || to is null || bucket is null || hours is null
            ? null
            : new TransferCredits(operationId, from, to, bucket, hours.Value, settlement, context.Now);
    }
}

/// <summary>The payment that settled a transfer.</summary>
public sealed record SettlementRequest
{
    /// <summary>The amount paid: positive, at most 2 decimals, as a JSON string (<c>"1200.00"</c>) or number.</summary>
    [HoursInput(maxDecimals: 2)]
    public required string Amount { get; init; }

    /// <summary>The currency; only <c>CNY</c> (the default) is accepted.</summary>
    [AllowedValues("CNY")]
    public string? Currency { get; init; }

    /// <summary>The payment rail.</summary>
    [AllowedValues("e-cny", "bank-transfer")]
    public required string Rail { get; init; }

    /// <summary>The payment's reference on the rail (at most 128 characters).</summary>
    [StringLength(128, MinimumLength = 1)]
    public required string PaymentReference { get; init; }

    private static readonly Dictionary<string, SettlementRail> Rails = new(StringComparer.Ordinal)
    {
        ["e-cny"] = SettlementRail.ECny,
        ["bank-transfer"] = SettlementRail.BankTransfer,
    };

    /// <summary>What was paid for the credits: CNY with at most 2 decimals, a rail, a payment reference.</summary>
    public Settlement? ToSettlement(RequestCheck check)
    {
        var amountText = check.Amount(Amount);
        var currency = check.Text(Currency, maxLength: 3) ?? "CNY";
        var rail = check.Choice(Rail, Rails);
        var reference = check.Text(PaymentReference);
        decimal amount = 0;
        if (amountText is not null
            && (!decimal.TryParse(amountText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out amount)
                || amount <= 0 || amount.Scale > 2 || amount > 1_000_000_000_000m))
        {
            check.Add(nameof(Amount), "must be a positive CNY amount with at most 2 decimals, as a string such as \"1200.00\"");
        }

        if (currency != "CNY")
        {
            check.Add(nameof(Currency), "must be CNY");
        }

        return amountText is null || rail is null || reference is null || !check.IsValid
            ? null
            : new Settlement(amount, currency, rail.Value, reference);
    }
}
