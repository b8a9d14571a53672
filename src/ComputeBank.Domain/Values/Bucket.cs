using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ComputeBank.Domain;

/// <summary>
/// Where a balance is held: (resource class, region, period). On the wire an object
/// <c>{resourceClass, region, period}</c>; as a dictionary key the string <c>gpu.h100/beijing/2026-11</c>.
/// </summary>
[JsonConverter(typeof(BucketJsonConverter))]
public sealed record Bucket(ResourceClass ResourceClass, Region Region, Period Period) : IComparable<Bucket>
{
    public static Bucket Of(string resourceClass, string region, string period) =>
        new(ResourceClass.Parse(resourceClass), Region.Parse(region), Period.Parse(period));

    public int CompareTo(Bucket? other)
    {
        if (other is null)
        {
            return 1;
        }

        var byClass = ResourceClass.CompareTo(other.ResourceClass);
        if (byClass != 0)
        {
            return byClass;
        }

        var byRegion = Region.CompareTo(other.Region);
        return byRegion != 0 ? byRegion : Period.CompareTo(other.Period);
    }

    public static bool TryParseKey(string? key, [NotNullWhen(true)] out Bucket? bucket)
    {
        bucket = null;
        var parts = key?.Split('/');
        if (parts is not { Length: 3 } ||
            !ResourceClass.TryParse(parts[0], out var resourceClass, out _) ||
            !Region.TryParse(parts[1], out var region, out _) ||
            !Period.TryParse(parts[2], out var period, out _))
        {
            return false;
        }

        bucket = new Bucket(resourceClass, region, period);
        return true;
    }

    public override string ToString() => $"{ResourceClass}/{Region}/{Period}";
}

public sealed class BucketJsonConverter : JsonConverter<Bucket>
{
    public override Bucket Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("a bucket must be an object");
        }

        ResourceClass? resourceClass = null;
        Region? region = null;
        Period? period = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "resourceClass": resourceClass = Value<ResourceClass>(ref reader); break;
                case "region": region = Value<Region>(ref reader); break;
                case "period": period = Value<Period>(ref reader); break;
                default: reader.Skip(); break;
            }
        }

        return resourceClass is not null && region is not null && period is not null
            ? new Bucket(resourceClass, region, period)
            : throw new JsonException("a bucket needs resourceClass, region and period");
    }

    // What StringValueJsonConverter does (same errors; JSON null stays null), without a serializer call per field:
    // buckets are read in every event and state.
    private static T? Value<T>(ref Utf8JsonReader reader) where T : class, IStringValue<T> => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String => T.TryParse(reader.GetString(), out var value, out var error) ? value : throw new JsonException($"{typeof(T).Name} {error}"),
        _ => throw new JsonException($"{typeof(T).Name} must be a string"),
    };

    public override void Write(Utf8JsonWriter writer, Bucket value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("resourceClass", value.ResourceClass.Value);
        writer.WriteString("region", value.Region.Value);
        writer.WriteString("period", value.Period.ToString());
        writer.WriteEndObject();
    }

    public override Bucket ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Bucket.TryParseKey(reader.GetString(), out var bucket) ? bucket : throw new JsonException("a bucket key must be class/region/period");

    public override void WriteAsPropertyName(Utf8JsonWriter writer, Bucket value, JsonSerializerOptions options) =>
        writer.WritePropertyName(value.ToString());
}
