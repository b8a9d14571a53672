using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ComputeBank.Domain.Accounts;
using ComputeBank.Domain.Holds;
using ComputeBank.Domain.Periods;

namespace ComputeBank.Domain;

/// <summary>
/// JSON for events, states and commands: camelCase, enums as kebab-case strings, hours as <c>"12.500"</c> strings.
/// States round-trip exactly (the bus keeps them as inline snapshots).
/// </summary>
public static class DomainJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DictionaryKeyPolicy = null,
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower, allowIntegerValues: false), new HoursJsonConverter() },
        };
        options.MakeReadOnly();
        return options;
    }

    public static string SerializeEvent(object @event) => JsonSerializer.Serialize(@event, @event.GetType(), Options);

    public static object DeserializeEvent(string eventName, string json) =>
        JsonSerializer.Deserialize(json, DomainEvents.TypeOf(eventName), Options) ?? throw new JsonException("an event cannot be null");

    /// <summary>The CLR type of the state of an aggregate type (<see cref="StreamIds.AccountType"/>, ...).</summary>
    public static Type StateTypeOf(string aggregateType) => aggregateType switch
    {
        StreamIds.AccountType => typeof(AccountState),
        StreamIds.HoldType => typeof(HoldState),
        StreamIds.PeriodType => typeof(PeriodState),
        StreamIds.BookType => typeof(Market.BookState),
        StreamIds.OfferType => typeof(Market.OfferState),
        StreamIds.TradeType => typeof(Market.TradeState),
        StreamIds.PaymentType => typeof(Market.PaymentState),
        _ => throw new ArgumentException($"unknown aggregate type '{aggregateType}'", nameof(aggregateType)),
    };

    public static string SerializeState(object? state) => state is null ? "null" : JsonSerializer.Serialize(state, state.GetType(), Options);

    public static object? DeserializeState(string aggregateType, string json) => JsonSerializer.Deserialize(json, StateTypeOf(aggregateType), Options);

    public static string Serialize(object? value) => value is null ? "null" : JsonSerializer.Serialize(value, value.GetType(), Options);
}
