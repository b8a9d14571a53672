using ComputeBank.Samples;
using ComputeBank.Samples.Auditor;

return await SampleMain.RunAsync(args, AuditorSample.Usage, AuditorSample.RunAsync);
