using Npgsql;

namespace ComputeBank.Api.Hosting;

/// <summary>Service registration and middleware of the ComputeBank host, kept out of Program.cs so tests reuse it.</summary>
public static class ComputeBankHost
{
    public const string ConnectionStringName = "ComputeBank";

    public static WebApplicationBuilder AddComputeBank(this WebApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"No connection string 'ConnectionStrings:{ConnectionStringName}'. Start the service with deploy/local/run, " +
                $"or set the environment variable ConnectionStrings__{ConnectionStringName}.");
        }

        builder.Services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString).Build());
        builder.Services.AddProblemDetails();
        return builder;
    }

    public static WebApplication UseComputeBank(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        return app;
    }
}
