using System.Reflection;
using ComputeBank.Domain.Accounts;

namespace ComputeBank.Domain;

/// <summary>The map from every event CLR type to its stable, versioned wire name (from <see cref="EventNameAttribute"/>).</summary>
public static class DomainEvents
{
    /// <summary>Every event type and its wire name, ordered by wire name.</summary>
    public static IReadOnlyDictionary<Type, string> All { get; } = typeof(DomainEvents).Assembly.GetTypes()
        .Select(t => (Type: t, Name: t.GetCustomAttribute<EventNameAttribute>()?.Name))
        .Where(t => t.Name is not null)
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToDictionary(t => t.Type, t => t.Name!);

    private static readonly Dictionary<string, Type> ByName = All.ToDictionary(e => e.Value, e => e.Key, StringComparer.Ordinal);

    public static string NameOf(Type eventType) =>
        All.TryGetValue(eventType, out var name) ? name : throw new ArgumentException($"{eventType.Name} is not a ledger event", nameof(eventType));

    public static string NameOf(object @event) => NameOf(@event.GetType());

    public static Type TypeOf(string eventName) =>
        ByName.TryGetValue(eventName, out var type) ? type : throw new ArgumentException($"unknown event name '{eventName}'", nameof(eventName));

    public static bool TryGetType(string eventName, out Type? type) => ByName.TryGetValue(eventName, out type);

    /// <summary>The double-entry postings an event carries (empty for events that move nothing).</summary>
    public static IReadOnlyList<Posting> PostingsOf(object @event) => @event is IHasPostings moved ? moved.Postings : [];
}
