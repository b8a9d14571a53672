using ComputeBank.Api.Features.ExpiringHolds;
using ComputeBank.Api.Features.GettingOperations;
using ComputeBank.Api.Features.ManagingDeadLetters;
using ComputeBank.Api.Features.PublishingIntegrationEvents;
using ComputeBank.Api.Features.SubmittingAsynchronously;
using ComputeBank.Api.Hosting;
using ComputeBank.Domain;
using ComputeBank.EventStore;
using ComputeBank.Messaging;
using ComputeBank.Messaging.Durable;
using ComputeBank.Messaging.Outbox;

namespace ComputeBank.Api.Features;

/// <summary>
/// Composition of durable messaging: the command queue run by Wolverine (asynchronous commands, retries and dead
/// letters), hold expiry as Wolverine scheduled messages, the outbox and its webhook relay, and their endpoints.
/// Settings: <c>ComputeBank:Durable</c> (<see cref="DurableOptions"/>) and <c>ComputeBank:Webhooks</c>
/// (<see cref="WebhookOptions"/>).
/// </summary>
public static class DurableMessagingFeatures
{
    public const string Section = "ComputeBank:Durable";

    public static IServiceCollection AddDurableMessaging(this IServiceCollection services, IConfiguration configuration, string schema)
    {
        services.AddSingleton(configuration.GetSection(Section).Get<DurableOptions>() ?? new DurableOptions());
        services.AddSingleton(configuration.GetSection("ComputeBank:Webhooks").Get<WebhookOptions>() ?? new WebhookOptions());
        services.AddSingleton(sp => new DurableQueue(sp.GetRequiredService<MartenEventStore>().DataSource, schema));
        services.AddSingleton(sp => new OutboxStore(sp.GetRequiredService<MartenEventStore>().DataSource, schema));
        services.AddSingleton(sp => new MessagingBacklogReader(sp.GetRequiredService<MartenEventStore>().DataSource, schema));
        services.AddSingleton(sp => new ScheduledMessages(
            sp.GetRequiredService<Wolverine.Runtime.IWolverineRuntime>(), sp.GetRequiredService<DatabaseDependentServices>()));
        services.AddSingleton<IStateProjection>(sp => new HoldExpiryScheduling(sp.GetRequiredService<ScheduledMessages>()));
        services.AddSingleton<IInlineProjection>(sp => new IntegrationEventsProjection(new OutboxWriter(schema), sp.GetRequiredService<WebhookOptions>()));
        services.AddSingleton(sp => new QueuedCommandTranslator(sp.GetRequiredService<LedgerCatalogue>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new CommandQueue(
            sp.GetRequiredService<DurableQueue>(), sp.GetRequiredService<ScheduledMessages>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new OutboxRelay(
            sp.GetRequiredService<OutboxStore>(), sp.GetRequiredService<MartenEventStore>().DataSource, sp.GetRequiredService<WebhookOptions>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<OutboxRelay>>()));
        services.AddHostedService(sp => new FinishedCommandsPurge(
            sp.GetRequiredService<DurableQueue>(), sp.GetRequiredService<DurableOptions>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<FinishedCommandsPurge>>()));
        services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay>());
        return services;
    }

    public static void MapDurableMessaging(this IEndpointRouteBuilder api)
    {
        SubmitCommandEndpoint.Map(api);
        GetOperationEndpoint.Map(api);
        DeadLetterEndpoints.Map(api);
    }
}
