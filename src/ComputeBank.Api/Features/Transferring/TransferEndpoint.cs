using System.Globalization;
using ComputeBank.Api.Contracts;
using ComputeBank.Api.Http;
using ComputeBank.Domain;

namespace ComputeBank.Api.Features.Transferring;

/// <summary>POST /api/v1/transfers: credits move between two accounts in one bucket, optionally with a settlement record.</summary>
public static class TransferEndpoint
{
    private static readonly Dictionary<string, SettlementRail> Rails = new(StringComparer.Ordinal)
    {
        ["e-cny"] = SettlementRail.ECny,
        ["bank-transfer"] = SettlementRail.BankTransfer,
    };

    public static readonly CommandKind Kind = new("transfer", StatusCodes.Status201Created, (fields, context) =>
    {
        var operationId = fields.Value<OperationId>("transferId");
        var from = fields.Value<AccountId>("fromAccountId");
        var to = fields.Value<AccountId>("toAccountId");
        var bucket = fields.Bucket();
        var hours = fields.Hours();
        var settlement = fields.Object("settlement") is { } s ? Settlement(s) : null;
        return operationId is null || from is null || to is null || bucket is null || hours is null
            ? null
            : new TransferCredits(operationId, from, to, bucket, hours.Value, settlement, context.Now);
    });

    public static void Map(IEndpointRouteBuilder api) => api.MapCommand("/transfers", Kind, "TransferCredits")
        .DocumentCommand<TransferRequest, OperationResult>(StatusCodes.Status201Created, "Transfer credits",
            "Credits move between two accounts within one bucket, optionally with the settlement that paid for them.")
        .ProducesProblems(StatusCodes.Status404NotFound, "account_not_found")
        .ProducesProblems(StatusCodes.Status422UnprocessableEntity, "insufficient_credits", "same_account", "account_frozen", "account_closed", "period_closed", "balance_overflow");

    /// <summary>What was paid for the credits: CNY with at most 2 decimals, a rail, a payment reference.</summary>
    private static Settlement? Settlement(Fields fields)
    {
        var amountText = fields.NumberText("amount");
        var currency = fields.Text("currency", required: false, maxLength: 3) ?? "CNY";
        var rail = fields.Choice("rail", Rails);
        var reference = fields.Text("paymentReference", maxLength: 128);
        decimal amount = 0;
        if (amountText is not null
            && (!decimal.TryParse(amountText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out amount)
                || amount <= 0 || amount.Scale > 2 || amount > 1_000_000_000_000m))
        {
            fields.Add("amount", "must be a positive CNY amount with at most 2 decimals, as a string such as \"1200.00\"");
        }

        if (currency != "CNY")
        {
            fields.Add("currency", "must be CNY");
        }

        return amountText is null || rail is null || reference is null || !fields.IsValid
            ? null
            : new Settlement(amount, currency, rail.Value, reference);
    }
}
