using ComputeBank.Api.Features;
using ComputeBank.Api.Ledger;
using ComputeBank.Api.Observability;
using ComputeBank.Api.Projections;
using ComputeBank.Api.Security;
using ComputeBank.Domain;
using ComputeBank.EventStore;
using ComputeBank.Messaging;

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

        ReadReplica.ValidatePrimary(connectionString);
        ReadReplica.ValidateReadOnly(builder.Configuration.GetConnectionString(ReadReplica.ConnectionStringName));
        var services = builder.Services;
        var schema = builder.Configuration["ComputeBank:Schema"] ?? "cb";
        var catalogue = (builder.Configuration.GetSection(LedgerSettings.Section).Get<LedgerSettings>() ?? new LedgerSettings()).ToCatalogue();
        var busOptions = builder.Configuration.GetSection("ComputeBank:Bus").Get<CommandBusOptions>() ?? new CommandBusOptions();

        services.AddSingleton(catalogue);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(busOptions);
        services.AddSingleton(sp => MartenEventStore.Create(
            new EventStoreOptions { ConnectionString = connectionString, Schema = schema, Json = DomainJson.Options },
            LedgerTypes.Registry(),
            sp.GetRequiredService<ILoggerFactory>(),
            [.. sp.GetServices<IInlineProjection>()]));
        services.AddSingleton(sp => sp.GetRequiredService<MartenEventStore>().DataSource);
        services.AddSingleton(sp => ReadReplica.Create(
            builder.Configuration.GetConnectionString(ReadReplica.ConnectionStringName),
            sp.GetRequiredService<MartenEventStore>(),
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IStateProjection>(new AccountBucketsProjection(schema));
        services.AddSingleton(sp => new CommandBus(
            sp.GetRequiredService<MartenEventStore>(),
            LedgerFeatures.Handlers(catalogue, schema),
            new LedgerFolder(),
            sp.GetServices<IStateProjection>(),
            busOptions,
            sp.GetRequiredService<ILogger<CommandBus>>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger(CommandBus.CommandLogCategory)));
        services.AddSingleton(sp => new LedgerCommands(sp.GetRequiredService<Wolverine.Runtime.IWolverineRuntime>(), sp.GetRequiredService<DatabaseDependentServices>()));
        services.AddSingleton<SchemaMigration>();
        services.AddHostedService(sp => sp.GetRequiredService<SchemaMigration>());
        builder.AddObservability();
        builder.AddComputeBankWolverine(connectionString);
        services.AddDurableMessaging(builder.Configuration, schema);
        services.AddReadSide(schema);
        services.AddProblemDetails(o => o.CustomizeProblemDetails = Http.FrameworkProblems.Customize);
        services.AddExceptionHandler<Http.RequestFaultExceptionHandler>();
        // A database that is down or failing over makes the service unavailable, not broken: 503 tells clients to retry.
        services.Configure<ExceptionHandlerOptions>(o => o.StatusCodeSelector = ex =>
            CommandBus.IsTransient(ex) ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError);
        // A lambda, not a method group: the OpenAPI XML-comment generator only intercepts this form.
        services.AddOpenApi(options => Http.ApiDocs.Configure(options));
        builder.AddComputeBankSecurity();
        return builder;
    }

    public static WebApplication UseComputeBank(this WebApplication app)
    {
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseShutdownGate();
        app.UseComputeBankSecurity();
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        Http.ApiReference.MapApiReference(app);
        WebConsole.ConsoleEndpoints.MapConsole(app);
        app.MapLedger();
        app.MapMetrics();
        return app;
    }
}
