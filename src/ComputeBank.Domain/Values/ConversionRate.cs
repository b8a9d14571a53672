using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ComputeBank.Domain;

/// <summary>
/// An exact conversion rate in parts per million (0.9 = 900,000), greater than 0 and at most 1.
/// Applied as credited = floor(hours × rate) in milli-hours; fixed into events so replay never reads configuration.
/// </summary>
[JsonConverter(typeof(ConversionRateJsonConverter))]
public readonly record struct ConversionRate(long PartsPerMillion)
{
    public static readonly ConversionRate One = new(1_000_000);

    /// <summary>An exact rate from a configured decimal; null (and an error) unless 0 &lt; rate ≤ 1 with at most 6 decimals.</summary>
    public static ConversionRate? FromDecimal(decimal rate, out string? error)
    {
        var ppm = rate * 1_000_000m;
        error = rate <= 0m || rate > 1m ? "must be greater than 0 and at most 1"
            : ppm != decimal.Truncate(ppm) ? "must have at most 6 decimals"
            : null;
        return error is null ? new ConversionRate((long)ppm) : null;
    }

    /// <summary>floor(hours × rate), exact (128-bit intermediate).</summary>
    public Hours Apply(Hours hours) => new((long)((Int128)hours.MilliHours * PartsPerMillion / 1_000_000));

    public decimal ToDecimal() => PartsPerMillion / 1_000_000m;

    /// <summary>Shortest exact form with at least one decimal: <c>"0.9"</c>, <c>"1.0"</c>, <c>"0.955"</c>.</summary>
    public override string ToString()
    {
        var text = ToDecimal().ToString("0.0#####", CultureInfo.InvariantCulture);
        return text;
    }
}

/// <summary>Writes a rate as a string; reads a string or number token from its raw text as a decimal (never double).</summary>
public sealed class ConversionRateJsonConverter : JsonConverter<ConversionRate>
{
    public override ConversionRate Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        var parsed = reader.TokenType == JsonTokenType.Number
            ? reader.GetDecimal()
            : decimal.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d) ? d : throw new JsonException("rate must be a decimal");
        return ConversionRate.FromDecimal(parsed, out var error) ?? throw new JsonException($"rate {error}");
    }

    public override void Write(Utf8JsonWriter writer, ConversionRate value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
