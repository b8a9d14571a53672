using ComputeBank.Api.Health;
using ComputeBank.Api.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddComputeBank();

var app = builder.Build();
app.UseComputeBank();
app.MapHealth();
await app.RunAsync();

/// <summary>The ASP.NET Core entry point; public so that WebApplicationFactory can host it in tests.</summary>
public partial class Program;
