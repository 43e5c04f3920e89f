namespace Harness.Data;

/// <summary>Train and test sets read from a data folder, with the layout found there.</summary>
public sealed record LocatedDataset(ImageDataset Train, ImageDataset Test, DataLayout Layout, string Description);
