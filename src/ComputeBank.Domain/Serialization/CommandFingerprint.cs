using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ComputeBank.Domain;

/// <summary>
/// A stable SHA-256 (lowercase hex) over a command's canonical fields, excluding <see cref="LedgerCommand.Now"/>: the command's
/// wire name, then its JSON with keys sorted and numbers normalised (12.50 = 12.5; hours are already canonical strings).
/// Same id + same fingerprint is a retry; same id + other fingerprint is <c>operation_id_conflict</c>.
/// </summary>
public static class CommandFingerprint
{
    public static string Of(LedgerCommand command)
    {
        var name = command.GetType().GetCustomAttribute<CommandNameAttribute>()?.Name
                   ?? throw new ArgumentException($"{command.GetType().Name} has no [CommandName]", nameof(command));
        var node = JsonSerializer.SerializeToNode(command, command.GetType(), DomainJson.Options)!.AsObject();
        node.Remove("now");
        var canonical = new StringBuilder(name).Append('\n');
        Write(node, canonical);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }

    private static void Write(JsonNode? node, StringBuilder text)
    {
        switch (node)
        {
            case null:
                text.Append("null");
                break;
            case JsonObject obj:
                text.Append('{');
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    text.Append(JsonSerializer.Serialize(key)).Append(':');
                    Write(value, text);
                    text.Append(',');
                }

                text.Append('}');
                break;
            case JsonArray array:
                text.Append('[');
                foreach (var item in array)
                {
                    Write(item, text);
                    text.Append(',');
                }

                text.Append(']');
                break;
            default:
                var scalar = node.AsValue();
                text.Append(scalar.GetValueKind() == JsonValueKind.Number
                    ? (scalar.GetValue<decimal>() / 1.000000000000000000000000000000000m).ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : scalar.ToJsonString());
                break;
        }
    }
}
