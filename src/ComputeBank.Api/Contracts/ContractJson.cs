using System.Text.Json;
using System.Text.Json.Nodes;

namespace ComputeBank.Api.Contracts;

/// <summary>Turns a contract record into the <see cref="JsonObject"/> a command reply carries (camelCase, as on the wire).</summary>
public static class ContractJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static JsonObject ToNode<T>(T value) => JsonSerializer.SerializeToNode(value, Options)!.AsObject();
}
