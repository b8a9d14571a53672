using ComputeBank.Api.Features.ExpiringHolds;
using ComputeBank.Api.Features.GettingOperations;
using ComputeBank.Api.Features.MarketDeadlines;
using ComputeBank.Api.Features.ManagingDeadLetters;
using ComputeBank.Api.Features.PublishingIntegrationEvents;
using ComputeBank.Api.Features.SubmittingAsynchronously;
using ComputeBank.Api.Hosting;
using ComputeBank.Domain;
using ComputeBank.EventStore;
using ComputeBank.Messaging;
using ComputeBank.Messaging.Durable;

namespace ComputeBank.Api.Features;

/// <summary>
/// Composition of durable messaging: the command queue run by Wolverine (asynchronous commands, retries and dead
/// letters), hold expiry as Wolverine scheduled messages, webhook deliveries as Wolverine messages stored with the
/// events, and their endpoints.
/// Settings: <c>ComputeBank:Durable</c> (<see cref="DurableOptions"/>) and <c>ComputeBank:Webhooks</c>
/// (<see cref="WebhookOptions"/>).
/// </summary>
public static class DurableMessagingFeatures
{
    public const string Section = "ComputeBank:Durable";
    public const string WebhooksSection = "ComputeBank:Webhooks";

    public static IServiceCollection AddDurableMessaging(this IServiceCollection services, IConfiguration configuration, string schema)
    {
        services.AddSingleton(configuration.GetSection(Section).Get<DurableOptions>() ?? new DurableOptions());
        services.AddSingleton(configuration.GetSection(WebhooksSection).Get<WebhookOptions>() ?? new WebhookOptions());
        services.AddSingleton(sp => new DurableQueue(sp.GetRequiredService<MartenEventStore>().DataSource, schema));
        services.AddSingleton(sp => new MessagingBacklogReader(
            sp.GetRequiredService<MartenEventStore>().DataSource, schema, sp.GetRequiredService<WolverineSettings>().Schema, WebhookDelivery.MessageType));
        services.AddSingleton(sp => new ScheduledMessages(
            sp.GetRequiredService<Wolverine.Runtime.IWolverineRuntime>(), sp.GetRequiredService<DatabaseDependentServices>(),
            sp.GetRequiredService<ILogger<ScheduledMessages>>()));
        services.AddSingleton<IStateProjection>(sp => new HoldExpiryScheduling(sp.GetRequiredService<ScheduledMessages>()));
        services.AddSingleton<IInlineProjection>(sp => new MarketDeadlineScheduling(sp.GetRequiredService<ScheduledMessages>()));
        services.AddSingleton<IInlineProjection>(sp => new IntegrationEventsProjection(sp.GetRequiredService<ScheduledMessages>(), sp.GetRequiredService<WebhookOptions>()));
        services.AddSingleton(sp => new WebhookSender(sp.GetRequiredService<WebhookOptions>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new EarlierOutbox(sp.GetRequiredService<MartenEventStore>().DataSource, schema, sp.GetRequiredService<ScheduledMessages>()));
        services.AddSingleton(sp => new QueuedCommandTranslator(sp.GetRequiredService<LedgerCatalogue>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new CommandQueue(
            sp.GetRequiredService<DurableQueue>(), sp.GetRequiredService<ScheduledMessages>(), sp.GetRequiredService<TimeProvider>()));
        services.AddHostedService(sp => new FinishedCommandsPurge(
            sp.GetRequiredService<DurableQueue>(), sp.GetRequiredService<DurableOptions>(), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<FinishedCommandsPurge>>()));
        return services;
    }

    public static void MapDurableMessaging(this IEndpointRouteBuilder api)
    {
        SubmitCommandEndpoint.Map(api);
        GetOperationEndpoint.Map(api);
        DeadLetterEndpoints.Map(api);
    }
}
