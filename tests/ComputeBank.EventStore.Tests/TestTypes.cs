using System.Text.Json.Nodes;

namespace ComputeBank.EventStore.Tests;

public sealed record Deposited(int Amount);

public sealed record Withdrawn(int Amount);

/// <summary>The current shape of a rename event; <c>V1.Renamed</c> rows carried <c>name</c> instead of <c>fullName</c>.</summary>
public sealed record Renamed(string FullName, string Reason);

public sealed record Balance(int Total);

public static class TestTypes
{
    public static EventTypeRegistry Registry() => new EventTypeRegistry()
        .Register<Deposited>("V1.Deposited")
        .Register<Withdrawn>("V1.Withdrawn")
        .Register<Renamed>("V2.Renamed")
        .Register<Balance>("State.Balance")
        .Upcast("V1.Renamed", "V2.Renamed", old => new JsonObject
        {
            ["fullName"] = old["name"]?.GetValue<string>(),
            ["reason"] = "upcast from V1",
        });

    public static Balance? Evolve(Balance? state, object e) => e switch
    {
        Deposited d => new Balance((state?.Total ?? 0) + d.Amount),
        Withdrawn w => new Balance((state?.Total ?? 0) - w.Amount),
        _ => state,
    };
}
