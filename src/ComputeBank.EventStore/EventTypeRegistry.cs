using System.Text.Json;
using System.Text.Json.Nodes;

namespace ComputeBank.EventStore;

/// <summary>
/// Maps CLR types to stable wire names and back, so renaming a class never breaks history. Event types and snapshot
/// (state) types are registered the same way: a snapshot row stores its state's registered name.
/// Upcasters turn an old name's JSON into a newer name's JSON on read; they chain (V1 to V2 to V3).
/// Register everything at start-up; the registry is read-only afterwards and safe to share between threads.
/// </summary>
public sealed class EventTypeRegistry
{
    private readonly Dictionary<string, Type> _typesByName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, string> _namesByType = [];
    private readonly Dictionary<string, (string NewName, Func<JsonObject, JsonObject> Upcast)> _upcasters = new(StringComparer.Ordinal);

    /// <summary>Registers <paramref name="clrType"/> under <paramref name="name"/>. A name or type registered twice differently is an error.</summary>
    public EventTypeRegistry Register(Type clrType, string name)
    {
        ArgumentNullException.ThrowIfNull(clrType);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (_typesByName.TryGetValue(name, out var existing) && existing != clrType)
        {
            throw new ArgumentException($"Event type name '{name}' is already registered for {existing.FullName}.", nameof(name));
        }

        if (_namesByType.TryGetValue(clrType, out var existingName) && existingName != name)
        {
            throw new ArgumentException($"{clrType.FullName} is already registered as '{existingName}'.", nameof(clrType));
        }

        _typesByName[name] = clrType;
        _namesByType[clrType] = name;
        return this;
    }

    /// <summary>Registers <typeparamref name="T"/> under <paramref name="name"/>.</summary>
    public EventTypeRegistry Register<T>(string name) => Register(typeof(T), name);

    /// <summary>
    /// Declares that events stored as <paramref name="oldName"/> are read as <paramref name="newName"/> after
    /// <paramref name="upcaster"/> rewrote their JSON. Stored rows (and their hashes) are never changed.
    /// </summary>
    public EventTypeRegistry Upcast(string oldName, string newName, Func<JsonObject, JsonObject> upcaster)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(oldName);
        ArgumentException.ThrowIfNullOrWhiteSpace(newName);
        ArgumentNullException.ThrowIfNull(upcaster);
        if (string.Equals(oldName, newName, StringComparison.Ordinal) || !_upcasters.TryAdd(oldName, (newName, upcaster)))
        {
            throw new ArgumentException($"An upcaster for '{oldName}' is already registered, or it maps the name to itself.", nameof(oldName));
        }

        return this;
    }

    /// <summary>The stable name of <paramref name="clrType"/>; throws when it was never registered.</summary>
    public string NameOf(Type clrType) =>
        _namesByType.TryGetValue(clrType, out var name)
            ? name
            : throw new InvalidOperationException(
                $"{clrType.FullName} is not registered in the EventTypeRegistry; register it with a stable name before storing it.");

    /// <summary>The CLR type registered under <paramref name="name"/>; throws when unknown (and not upcast to a known name).</summary>
    public Type TypeOf(string name) =>
        _typesByName.TryGetValue(name, out var type)
            ? type
            : throw new InvalidOperationException(
                $"Stored type name '{name}' is not registered in the EventTypeRegistry and has no upcaster to a registered name.");

    /// <summary>Every registered type with its name (events and snapshot states alike).</summary>
    internal IEnumerable<KeyValuePair<Type, string>> Registrations => _namesByType;

    /// <summary>Whether <paramref name="clrType"/> has a name.</summary>
    public bool IsRegistered(Type clrType) => _namesByType.ContainsKey(clrType);

    /// <summary>Deserialises stored data (UTF-8 JSON, as PostgreSQL sends jsonb: no UTF-16 copy on the way), upcast
    /// first when its stored name has an upcaster.</summary>
    internal (string Name, object Value) Deserialize(string storedName, ReadOnlySpan<byte> utf8Json, JsonSerializerOptions options)
    {
        if (!_upcasters.ContainsKey(storedName))
        {
            return (storedName, JsonSerializer.Deserialize(utf8Json, TypeOf(storedName), options)
                ?? throw new InvalidOperationException($"Stored '{storedName}' data is JSON null."));
        }

        var node = JsonNode.Parse(utf8Json)?.AsObject() ?? throw new InvalidOperationException($"Stored '{storedName}' data is not a JSON object.");
        var name = storedName;
        for (var hops = 0; _upcasters.TryGetValue(name, out var step); hops++)
        {
            if (hops > _upcasters.Count)
            {
                throw new InvalidOperationException($"Upcasters starting at '{storedName}' form a cycle.");
            }

            node = step.Upcast(node);
            name = step.NewName;
        }

        return (name, node.Deserialize(TypeOf(name), options) ?? throw new InvalidOperationException($"Upcast '{name}' data is JSON null."));
    }
}
