using System.Globalization;
using System.Text.Json.Nodes;
using ComputeBank.Domain;
using ComputeBank.Domain.Accounts;

namespace ComputeBank.Api.Ledger;

/// <summary>
/// An event's data as the read side returns it (history, event feed): the domain's JSON of the event, with a
/// settlement's amount as a string with exactly 2 decimals (<c>"1200.00"</c>), as hours are strings with 3.
/// </summary>
/// <remarks>
/// The stored event keeps the domain's form (the amount as a JSON number, such as <c>1200.00</c>): changing it would
/// change what new events hash over and what command fingerprints are computed from, and the events already stored
/// must read as they are. A JSON number is not a faithful amount once a client parses it (<c>1200.0</c> as a double, or
/// <c>1200.5</c> for <c>"1200.50"</c>), so the rendering, not the stored event, says it as a string.
/// </remarks>
public static class EventData
{
    public static JsonObject ToNode(object @event)
    {
        var data = JsonNode.Parse(DomainJson.SerializeEvent(@event))!.AsObject();
        var settlement = @event switch
        {
            CreditsTransferredOut e => e.Settlement,
            CreditsTransferredIn e => e.Settlement,
            MarketSaleSettled e => e.Settlement,
            Domain.Market.TradeSettled e => e.Settlement,
            _ => null,
        };
        if (settlement is not null && data["settlement"] is JsonObject rendered)
        {
            rendered["amount"] = Amount(settlement.Amount);
        }

        // The market's prices and amounts (offers, trades, payments) read as CNY strings too.
        if (@event.GetType().Namespace == typeof(Domain.Market.TradeOpened).Namespace)
        {
            foreach (var field in MoneyFields)
            {
                if (data[field] is JsonValue value && value.TryGetValue<decimal>(out var amount))
                {
                    data[field] = Amount(amount);
                }
            }
        }

        return data;
    }

    private static readonly string[] MoneyFields = ["unitPrice", "amount"];

    /// <summary>A CNY amount with exactly 2 decimals (settlements are validated to at most 2).</summary>
    public static string Amount(decimal amount) => amount.ToString("0.00", CultureInfo.InvariantCulture);
}
