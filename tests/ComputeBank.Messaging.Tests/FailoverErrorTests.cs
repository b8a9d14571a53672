using System.Net.Sockets;
using Npgsql;

namespace ComputeBank.Messaging.Tests;

/// <summary>
/// What the bus retries while the primary fails over behind a multi-host connection string: the errors Npgsql reports
/// then are not marked transient by Npgsql itself, and without these rules the bus answered 500 internal_error.
/// </summary>
public sealed class FailoverErrorTests
{
    private static NpgsqlException Refused() => new("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused));

    [Fact]
    public void EveryHostRefusing_IsTransient()
    {
        var error = new NpgsqlException("Unable to connect to a suitable host. Check inner exception for more details.", new AggregateException(Refused(), Refused()));

        Assert.True(CommandBus.IsTransient(error));
    }

    [Fact]
    public void NoHostIsAPrimaryYet_IsTransient() =>
        Assert.True(CommandBus.IsTransient(new NpgsqlException("No suitable host was found.")));

    [Theory]
    [InlineData("57P02")] // crash shutdown
    [InlineData("57P03")] // cannot connect now: starting up or in recovery
    [InlineData("25006")] // read-only transaction: the server is no longer the primary
    public void ServerStatesOfAFailover_AreTransient(string sqlState) =>
        Assert.True(CommandBus.IsTransient(new PostgresException("failover", "FATAL", "FATAL", sqlState)));

    [Fact]
    public void HostsFailingForAReasonOfTheirOwn_IsNotTransient()
    {
        var wrongPassword = new PostgresException("password authentication failed", "FATAL", "FATAL", "28P01");
        var error = new NpgsqlException("Unable to connect to a suitable host. Check inner exception for more details.", new AggregateException(wrongPassword, Refused()));

        Assert.False(CommandBus.IsTransient(error));
        Assert.False(CommandBus.IsTransient(new NpgsqlException("The connection string is invalid.")));
    }
}
