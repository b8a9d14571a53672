using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace ComputeBank.Domain;

/// <summary>A value that is written as one string on the wire (and as a JSON property name when it is a key).</summary>
public interface IStringValue<TSelf> where TSelf : class, IStringValue<TSelf>
{
    static abstract bool TryParse(string? text, [NotNullWhen(true)] out TSelf? value, out string? error);
}

/// <summary>JSON for <see cref="IStringValue{TSelf}"/>: a string token, also usable as a dictionary key.</summary>
public sealed class StringValueJsonConverter<T> : JsonConverter<T> where T : class, IStringValue<T>
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.String ? Parse(reader.GetString()) : throw new JsonException($"{typeof(T).Name} must be a string");

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());

    public override T ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => Parse(reader.GetString());

    public override void WriteAsPropertyName(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WritePropertyName(value.ToString()!);

    private static T Parse(string? text) => T.TryParse(text, out var value, out var error) ? value : throw new JsonException($"{typeof(T).Name} {error}");
}

/// <summary>A client-chosen account id: <c>[a-z0-9][a-z0-9._:-]{0,63}</c>.</summary>
[JsonConverter(typeof(StringValueJsonConverter<AccountId>))]
public sealed partial record AccountId : IStringValue<AccountId>, IComparable<AccountId>
{
    private AccountId(string value) => Value = value;

    public string Value { get; }

    public static AccountId Parse(string text) => TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    public static bool TryParse(string? text, [NotNullWhen(true)] out AccountId? value, out string? error)
    {
        value = text is not null && Pattern().IsMatch(text) ? new AccountId(text) : null;
        error = value is null ? "must match [a-z0-9][a-z0-9._:-]{0,63}" : null;
        return value is not null;
    }

    public int CompareTo(AccountId? other) => string.CompareOrdinal(Value, other?.Value);

    public override string ToString() => Value;

    [GeneratedRegex("^[a-z0-9][a-z0-9._:-]{0,63}$")]
    private static partial Regex Pattern();
}

/// <summary>A client-chosen operation id (also a hold's id): 1 to 128 printable ASCII characters.</summary>
[JsonConverter(typeof(StringValueJsonConverter<OperationId>))]
public sealed record OperationId : IStringValue<OperationId>, IComparable<OperationId>
{
    private OperationId(string value) => Value = value;

    public string Value { get; }

    public static OperationId Parse(string text) => TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    public static bool TryParse(string? text, [NotNullWhen(true)] out OperationId? value, out string? error)
    {
        var valid = !string.IsNullOrEmpty(text) && text.Length <= 128 && text.All(c => c is >= ' ' and <= '~');
        value = valid ? new OperationId(text!) : null;
        error = valid ? null : "must be 1 to 128 printable ASCII characters";
        return valid;
    }

    public int CompareTo(OperationId? other) => string.CompareOrdinal(Value, other?.Value);

    public override string ToString() => Value;
}

/// <summary>A resource class, the asset of one ledger (<c>gpu.h100</c>). Membership of the catalogue is checked by the ledger.</summary>
[JsonConverter(typeof(StringValueJsonConverter<ResourceClass>))]
public sealed partial record ResourceClass : IStringValue<ResourceClass>, IComparable<ResourceClass>
{
    private ResourceClass(string value) => Value = value;

    public string Value { get; }

    public static ResourceClass Parse(string text) => TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    public static bool TryParse(string? text, [NotNullWhen(true)] out ResourceClass? value, out string? error)
    {
        value = text is not null && CatalogueName.IsMatch(text) ? new ResourceClass(text) : null;
        error = value is null ? "must match [a-z0-9][a-z0-9._-]{0,63}" : null;
        return value is not null;
    }

    public int CompareTo(ResourceClass? other) => string.CompareOrdinal(Value, other?.Value);

    public override string ToString() => Value;
}

/// <summary>A region where capacity sits (<c>beijing</c>). Membership of the catalogue is checked by the ledger.</summary>
[JsonConverter(typeof(StringValueJsonConverter<Region>))]
public sealed record Region : IStringValue<Region>, IComparable<Region>
{
    private Region(string value) => Value = value;

    public string Value { get; }

    public static Region Parse(string text) => TryParse(text, out var id, out var error) ? id : throw new FormatException(error);

    public static bool TryParse(string? text, [NotNullWhen(true)] out Region? value, out string? error)
    {
        value = text is not null && CatalogueName.IsMatch(text) ? new Region(text) : null;
        error = value is null ? "must match [a-z0-9][a-z0-9._-]{0,63}" : null;
        return value is not null;
    }

    public int CompareTo(Region? other) => string.CompareOrdinal(Value, other?.Value);

    public override string ToString() => Value;
}

internal static partial class CatalogueName
{
    public static bool IsMatch(string text) => Pattern().IsMatch(text);

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}$")]
    private static partial Regex Pattern();
}
