using ComputeBank.Samples;
using ComputeBank.Samples.Sme;

return await SampleMain.RunAsync(args, SmeSample.Usage, SmeSample.RunAsync);
