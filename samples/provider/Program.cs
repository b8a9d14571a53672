using ComputeBank.Samples;
using ComputeBank.Samples.Provider;

return await SampleMain.RunAsync(args, ProviderSample.Usage, ProviderSample.RunAsync);
