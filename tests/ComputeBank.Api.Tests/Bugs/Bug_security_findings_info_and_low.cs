using System.Net;
using ComputeBank.Api.Security;
using ComputeBank.Api.Tests.Security;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ComputeBank.Api.Tests.Bugs;

/// <summary>The outside security test's low and informational findings, each as the API answers it.</summary>
public sealed class Bug_security_findings_info_and_low(SecureApiFactory factory) : IClassFixture<SecureApiFactory>
{
    [Fact]
    public async Task Bug_answers_could_be_sniffed_and_cached_and_named_the_server()
    {
        var client = factory.ClientAs(Roles.Auditor, "audit").Http;

        using var found = await client.GetAsync(new Uri("/api/v1/events?limit=1", UriKind.Relative));
        using var refused = await factory.CreateClient().GetAsync(new Uri("/api/v1/events", UriKind.Relative));

        foreach (var response in new[] { found, refused })
        {
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.True(response.Headers.CacheControl?.NoStore, $"{response.StatusCode}: Cache-Control {response.Headers.CacheControl}");
        }

        Assert.False(factory.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.AddServerHeader);
    }

    [Fact]
    public async Task Bug_the_401_named_a_local_cli_command_outside_development()
    {
        var answer = await factory.ClientWith(null).GetAsync("/api/v1/events");

        answer.ShouldBeProblem(HttpStatusCode.Unauthorized, "unauthenticated");
        Assert.DoesNotContain("deploy/local", answer.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Acme\r\nInjected: yes")]
    [InlineData("invoice \u202Efdp.exe")]
    public async Task Bug_control_and_bidi_characters_were_stored_in_free_text(string text)
    {
        var client = factory.ClientAs(Roles.Consumer, "text-owner");
        var before = await factory.EventCountAsync();

        var opened = await client.PostAsync("/api/v1/accounts", new { accountId = "text-" + Guid.NewGuid().ToString("N")[..8], ownerId = "text-owner", kind = "consumer", displayName = text });

        opened.ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
        Assert.NotNull(opened.Body!["errors"]!["displayName"]);
        Assert.Equal(before, await factory.EventCountAsync());
    }

    [Fact]
    public async Task Bug_an_account_id_under_the_bank_prefix_could_be_opened()
    {
        var client = factory.ClientAs(Roles.Consumer, "prefix-owner");
        var before = await factory.EventCountAsync();

        var opened = await client.PostAsync("/api/v1/accounts", new { accountId = "bank.newthing", ownerId = "prefix-owner", kind = "consumer" });

        opened.ShouldBeProblem(HttpStatusCode.BadRequest, "validation_failed");
        Assert.Equal(before, await factory.EventCountAsync());
    }
}

/// <summary>The rate limit a service has when nobody configures one.</summary>
public sealed class Bug_the_default_rate_limit_was_in_effect_none
{
    [Fact]
    public void Bug_20000_requests_a_second_per_caller_was_the_default() =>
        Assert.True(new RateLimitSettings() is { Enabled: true, PermitLimit: <= 100, WindowSeconds: 1 }, "the default must be a real limit");
}
