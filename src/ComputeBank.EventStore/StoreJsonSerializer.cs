using System.Buffers;
using System.Data.Common;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using Weasel.Core;

namespace ComputeBank.EventStore;

/// <summary>
/// Marten's serializer for the events we append: exactly the host's <see cref="JsonSerializerOptions"/>, nothing added.
/// Marten's own System.Text.Json serializer copies the options and then resets the naming policy and replaces enum
/// converters, which would store <c>{"AccountId": ...}</c> where every reader, hash and answer expects the host's
/// form. We read events back ourselves (through <see cref="EventTypeRegistry"/>), so this only has to write.
/// </summary>
internal sealed class StoreJsonSerializer(JsonSerializerOptions options) : Marten.ISerializer
{
    public EnumStorage EnumStorage => EnumStorage.AsString;

    public Casing Casing => Casing.Default;

    public Marten.ValueCasting ValueCasting => Marten.ValueCasting.Strict;

    public string ToJson(object? document) => document is null ? "null" : JsonSerializer.Serialize(document, document.GetType(), options);

    public void WriteTo(IBufferWriter<byte> writer, object? value)
    {
        using var json = new Utf8JsonWriter(writer);
        JsonSerializer.Serialize(json, value, value?.GetType() ?? typeof(object), options);
    }

    public string ToCleanJson(object? document) => ToJson(document);

    public void WriteToCleanJson(IBufferWriter<byte> writer, object? value) => WriteTo(writer, value);

    public string ToJsonWithTypes(object document) => ToJson(document);

    public void WriteToJsonWithTypes(IBufferWriter<byte> writer, object value) => WriteTo(writer, value);

    public void WriteToParameter(NpgsqlParameter parameter, object? value)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        parameter.NpgsqlDbType = NpgsqlDbType.Jsonb;
        parameter.Value = ToJson(value);
    }

    public T FromJson<T>(Stream stream) => JsonSerializer.Deserialize<T>(stream, options)!;

    public T FromJson<T>(DbDataReader reader, int index) => JsonSerializer.Deserialize<T>(reader.GetFieldValue<byte[]>(index), options)!;

    public object FromJson(Type type, Stream stream) => JsonSerializer.Deserialize(stream, type, options)!;

    public object FromJson(Type type, DbDataReader reader, int index) => JsonSerializer.Deserialize(reader.GetFieldValue<byte[]>(index), type, options)!;

    public async ValueTask<T> FromJsonAsync<T>(Stream stream, CancellationToken cancellationToken = default) =>
        (await JsonSerializer.DeserializeAsync<T>(stream, options, cancellationToken))!;

    public ValueTask<T> FromJsonAsync<T>(DbDataReader reader, int index, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(FromJson<T>(reader, index));

    public async ValueTask<object> FromJsonAsync(Type type, Stream stream, CancellationToken cancellationToken = default) =>
        (await JsonSerializer.DeserializeAsync(stream, type, options, cancellationToken))!;

    public ValueTask<object> FromJsonAsync(Type type, DbDataReader reader, int index, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(FromJson(type, reader, index));
}
