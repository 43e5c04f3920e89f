namespace Harness.Data.ImageFolder;

/// <summary>One decoded image: RGB bytes in CHW order (as <see cref="ImageDataset"/> stores them).</summary>
public sealed record DecodedImage(byte[] Chw, int Height, int Width);
