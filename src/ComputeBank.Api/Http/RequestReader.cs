using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using ComputeBank.Api.Contracts;

namespace ComputeBank.Api.Http;

/// <summary>
/// Deserialises a command body into its request record with System.Text.Json and the project's options
/// (<see cref="ContractJson.Options"/>), with three differences that keep every problem a field error instead of an
/// exception: names match exactly (as JSON is written, not case-insensitively), <c>required</c> is checked afterwards by
/// <see cref="RequestCheck"/> (so that every missing field is listed), and an amount property takes a JSON number as its raw
/// token text (never through a double). A token of the wrong kind (a number for a text, a string for an object) is
/// reported here and its property left null. Unknown properties are ignored.
/// </summary>
public static class RequestReader
{
    private static readonly JsonSerializerOptions Options = new(ContractJson.Options)
    {
        PropertyNameCaseInsensitive = false,
        RespectNullableAnnotations = false,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { ReadLeniently } },
    };

    /// <summary>The record of <paramref name="shape"/> read from <paramref name="body"/>; kind errors go to <paramref name="check"/>.</summary>
    public static object Read(RequestShape shape, JsonElement body, RequestCheck check)
    {
        var typeInfo = Options.GetTypeInfo(shape.Type);
        if (body.ValueKind != JsonValueKind.Object)
        {
            return new JsonObject().Deserialize(typeInfo)!;
        }

        return CheckKinds(body, shape, check)
            ? body.Deserialize(typeInfo)!
            : WithoutMisfits(body, shape).Deserialize(typeInfo)!;
    }

    /// <summary>Reports every property whose token is of the wrong kind; true when there is none.</summary>
    private static bool CheckKinds(JsonElement body, RequestShape shape, RequestCheck check)
    {
        var fits = true;
        foreach (var property in shape.Properties)
        {
            if (!body.TryGetProperty(property.Name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (Misfit(property, value) is { } message)
            {
                check.AddAt(property.Name, message);
                fits = false;
            }
            else if (property.Kind == WireKind.Object)
            {
                fits &= CheckKinds(value, property.Nested!, check.Child(property));
            }
        }

        return fits;
    }

    private static string? Misfit(WireProperty property, JsonElement value) => (property.Kind, value.ValueKind) switch
    {
        (WireKind.Text, JsonValueKind.String) => null,
        (WireKind.Text, _) => "must be a string",
        (WireKind.Amount, JsonValueKind.String or JsonValueKind.Number) => null,
        (WireKind.Amount, _) => RequestCheck.AmountMessage,
        (WireKind.Object, JsonValueKind.Object) => null,
        (WireKind.Object, _) => "must be an object",
        (WireKind.Boolean, JsonValueKind.True or JsonValueKind.False) => null,
        (WireKind.Boolean, _) => "must be true or false",
        (WireKind.Integer, JsonValueKind.Number) when value.TryGetInt32(out _) => null,
        (WireKind.Integer, _) => "must be a whole number",
        (WireKind.TextList, JsonValueKind.Array) when value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) => null,
        (WireKind.TextList, _) => "must be an array of strings",
        _ => throw new InvalidOperationException($"Unknown wire kind {property.Kind}."),
    };

    /// <summary>A copy of the body without the properties of the wrong kind (rare: only bodies with such errors are copied).</summary>
    private static JsonObject WithoutMisfits(JsonElement body, RequestShape shape)
    {
        var copy = JsonObject.Create(body.Clone())!;
        foreach (var property in shape.Properties)
        {
            if (!body.TryGetProperty(property.Name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (Misfit(property, value) is not null)
            {
                copy.Remove(property.Name);
            }
            else if (property.Kind == WireKind.Object)
            {
                copy[property.Name] = WithoutMisfits(value, property.Nested!);
            }
        }

        return copy;
    }

    private static void ReadLeniently(JsonTypeInfo typeInfo)
    {
        foreach (var property in typeInfo.Properties)
        {
            property.IsRequired = false;
            if (property.PropertyType == typeof(string)
                && property.AttributeProvider?.IsDefined(typeof(HoursInputAttribute), inherit: true) == true)
            {
                property.CustomConverter = AmountText.Instance;
            }
        }
    }

    /// <summary>An amount as text: a JSON string's value, or a JSON number's raw token text.</summary>
    private sealed class AmountText : JsonConverter<string>
    {
        public static readonly AmountText Instance = new();

        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Number
                ? reader.HasValueSequence ? Encoding.UTF8.GetString(reader.ValueSequence) : Encoding.UTF8.GetString(reader.ValueSpan)
                : reader.GetString();

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
    }
}
