using System.Text.Json;
using System.Text.Json.Nodes;

namespace ComputeBank.Api.Contracts;

/// <summary>Turns a contract record into the JSON a command reply carries (camelCase, as on the wire).</summary>
public static class ContractJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static JsonObject ToNode<T>(T value) => JsonSerializer.SerializeToNode(value, Options)!.AsObject();

    /// <summary>The record as UTF-8 JSON, serialised once (what a reply stores and sends).</summary>
    public static byte[] ToUtf8<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);
}
