using System.Buffers;
using System.Collections.Concurrent;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace ComputeBank.Domain;

/// <summary>
/// A stable SHA-256 (lowercase hex) over a command's canonical fields, excluding <see cref="LedgerCommand.Now"/>: the command's
/// wire name, then its JSON with keys sorted and numbers normalised (12.50 = 12.5; hours are already canonical strings).
/// Same id + same fingerprint is a retry; same id + other fingerprint is <c>operation_id_conflict</c>.
/// </summary>
/// <remarks>
/// The canonical text is stored implicitly in every operation record, so its bytes must never change: an object is
/// <c>{"key":value,...,}</c> with keys in ordinal order (each followed by a comma), an array <c>[value,...,]</c>, a
/// string or a key JSON-escaped with the default encoder, a number as its decimal value without trailing zeros.
/// The command is serialised once to UTF-8 and read as a document (no node tree, no reflection per call); every
/// fingerprint produced before this implementation is reproduced exactly (a test keeps the original as reference).
/// </remarks>
public static class CommandFingerprint
{
    // Per command type: its wire name and the line break that ends it, as the UTF-8 the hash starts with.
    private static readonly ConcurrentDictionary<Type, byte[]> Headers = new();
    private static readonly ConcurrentDictionary<string, byte[]> EscapedKeys = new(StringComparer.Ordinal);

    public static string Of(LedgerCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var type = command.GetType();
        var header = Headers.GetOrAdd(type, static t => Encoding.UTF8.GetBytes((t.GetCustomAttribute<CommandNameAttribute>()?.Name
            ?? throw new ArgumentException($"{t.Name} has no [CommandName]", nameof(command))) + "\n"));

        var buffer = new ArrayBufferWriter<byte>(512);
        buffer.Write(header);
        using (var document = JsonDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(command, type, DomainJson.Options)))
        {
            Write(document.RootElement, buffer, skipNow: true);
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(buffer.WrittenSpan, hash);
        return Convert.ToHexStringLower(hash);
    }

    private static void Write(JsonElement element, ArrayBufferWriter<byte> output, bool skipNow = false)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var properties = new List<JsonProperty>();
                foreach (var property in element.EnumerateObject())
                {
                    if (!(skipNow && property.NameEquals("now"u8)))
                    {
                        properties.Add(property);
                    }
                }

                properties.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
                output.Write("{"u8);
                foreach (var property in properties)
                {
                    output.Write(EscapedKeys.GetOrAdd(property.Name, static key => JsonSerializer.SerializeToUtf8Bytes(key)));
                    output.Write(":"u8);
                    Write(property.Value, output);
                    output.Write(","u8);
                }

                output.Write("}"u8);
                break;
            case JsonValueKind.Array:
                output.Write("["u8);
                foreach (var item in element.EnumerateArray())
                {
                    Write(item, output);
                    output.Write(","u8);
                }

                output.Write("]"u8);
                break;
            case JsonValueKind.Number:
                var normalised = (element.GetDecimal() / 1.000000000000000000000000000000000m).ToString(System.Globalization.CultureInfo.InvariantCulture);
                output.Write(Encoding.ASCII.GetBytes(normalised));
                break;
            case JsonValueKind.String:
                // Escaped as the default encoder does, whatever escaping the serializer's options used.
                output.Write(JsonSerializer.SerializeToUtf8Bytes(element.GetString()));
                break;
            case JsonValueKind.True:
                output.Write("true"u8);
                break;
            case JsonValueKind.False:
                output.Write("false"u8);
                break;
            default:
                output.Write("null"u8);
                break;
        }
    }
}
