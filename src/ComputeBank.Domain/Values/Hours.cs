using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ComputeBank.Domain;

/// <summary>
/// An amount of compute-hours of one resource class, held as a 64-bit count of milli-hours (3 decimals).
/// Never floating point: parsing reads the decimal text, arithmetic is checked and throws <see cref="OverflowException"/>
/// instead of wrapping. Always formatted with exactly three decimals (<c>"12.500"</c>). May be negative (postings, debts).
/// </summary>
[JsonConverter(typeof(HoursJsonConverter))]
public readonly record struct Hours(long MilliHours) : IComparable<Hours>
{
    /// <summary>The most one operation may move: 1,000,000,000 hours.</summary>
    public static readonly Hours MaxPerOperation = new(1_000_000_000L * 1000);

    public static readonly Hours Zero = new(0);

    public static Hours FromWholeHours(long hours) => new(checked(hours * 1000));

    public bool IsZero => MilliHours == 0;

    public bool IsPositive => MilliHours > 0;

    public bool IsNegative => MilliHours < 0;

    public static Hours operator +(Hours a, Hours b) => new(checked(a.MilliHours + b.MilliHours));

    public static Hours operator -(Hours a, Hours b) => new(checked(a.MilliHours - b.MilliHours));

    public static Hours operator -(Hours a) => new(checked(-a.MilliHours));

    public static bool operator <(Hours a, Hours b) => a.MilliHours < b.MilliHours;

    public static bool operator >(Hours a, Hours b) => a.MilliHours > b.MilliHours;

    public static bool operator <=(Hours a, Hours b) => a.MilliHours <= b.MilliHours;

    public static bool operator >=(Hours a, Hours b) => a.MilliHours >= b.MilliHours;

    public int CompareTo(Hours other) => MilliHours.CompareTo(other.MilliHours);

    /// <summary>Adds without throwing; false when the sum does not fit in 64 bits.</summary>
    public static bool TryAdd(Hours a, Hours b, out Hours sum)
    {
        var result = unchecked(a.MilliHours + b.MilliHours);
        // Overflow happened iff both operands have the same sign and the result's sign differs.
        if (((a.MilliHours ^ result) & (b.MilliHours ^ result)) < 0)
        {
            sum = default;
            return false;
        }

        sum = new Hours(result);
        return true;
    }

    /// <summary>
    /// The rule for an amount moved by one operation: positive and at most <see cref="MaxPerOperation"/>.
    /// Returns the error message, or null when valid. (More than 3 decimals is already refused by parsing.)
    /// </summary>
    public string? ValidateAmount()
    {
        if (MilliHours <= 0)
        {
            return "must be greater than zero";
        }

        return this > MaxPerOperation ? "must be at most 1000000000 hours per operation" : null;
    }

    public static Hours Parse(string text) =>
        TryParse(text, out var hours, out var error) ? hours : throw new FormatException(error);

    public static bool TryParse(string? text, out Hours hours) => TryParse(text, out hours, out _);

    /// <summary>Parses <c>"12"</c>, <c>"12.5"</c>, <c>"-0.001"</c>: an optional minus, digits, at most 3 decimals.</summary>
    public static bool TryParse(string? text, out Hours hours, out string? error)
    {
        hours = default;
        if (string.IsNullOrEmpty(text))
        {
            error = "must be a decimal number of hours";
            return false;
        }

        var negative = text[0] == '-';
        var body = negative ? text.AsSpan(1) : text.AsSpan();
        var dot = body.IndexOf('.');
        var whole = dot < 0 ? body : body[..dot];
        var fraction = dot < 0 ? [] : body[(dot + 1)..];
        if (whole.IsEmpty || (dot >= 0 && fraction.IsEmpty) || !IsDigits(whole) || !IsDigits(fraction))
        {
            error = "must be a decimal number of hours like \"12.5\"";
            return false;
        }

        if (fraction.Length > 3)
        {
            error = "must have at most 3 decimals";
            return false;
        }

        if (!long.TryParse(whole, NumberStyles.None, CultureInfo.InvariantCulture, out var wholeHours) ||
            wholeHours > long.MaxValue / 1000 - 1)
        {
            error = "is too large";
            return false;
        }

        var milli = 0L;
        for (var i = 0; i < 3; i++)
        {
            milli = milli * 10 + (i < fraction.Length ? fraction[i] - '0' : 0);
        }

        var value = wholeHours * 1000 + milli;
        hours = new Hours(negative ? -value : value);
        error = null;
        return true;
    }

    private static bool IsDigits(ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Always three decimals, invariant culture: <c>"12.500"</c>, <c>"-0.001"</c>.</summary>
    public override string ToString()
    {
        var magnitude = MilliHours < 0 ? (ulong)(-(MilliHours + 1)) + 1 : (ulong)MilliHours;
        return string.Create(CultureInfo.InvariantCulture, $"{(MilliHours < 0 ? "-" : "")}{magnitude / 1000}.{magnitude % 1000:D3}");
    }
}

/// <summary>
/// Reads hours from a JSON string or number token using the raw token text (never through double), writes a string.
/// </summary>
public sealed class HoursJsonConverter : JsonConverter<Hours>
{
    public override Hours Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        string? text = reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.Number => reader.HasValueSequence ? Encoding.UTF8.GetString(reader.ValueSequence) : Encoding.UTF8.GetString(reader.ValueSpan),
            _ => throw new JsonException("hours must be a JSON string or number"),
        };
        return Hours.TryParse(text, out var hours, out var error) ? hours : throw new JsonException($"hours {error}");
    }

    public override void Write(Utf8JsonWriter writer, Hours value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString());
}
