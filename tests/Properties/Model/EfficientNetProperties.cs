using FsCheck;
using FsCheck.Fluent;
using Harness.Model.Families;
using static TorchSharp.torch;

namespace Harness.Tests.Properties.Model;

public class EfficientNetProperties
{
    [Test]
    public void ForwardGivesBatchByClassesForAnyMultipliersAndInputSize()
    {
        var cases =
            from width in Gen.Choose(1, 10).Select(w => w / 10.0)
            from depth in Gen.Choose(1, 10).Select(d => d / 10.0)
            from side in Gen.Choose(32, 96)
            from batch in Gen.Choose(1, 3)
            from classes in Gen.Choose(1, 20)
            select (width, depth, side, batch, classes);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            using var scope = NewDisposeScope();
            using var model = EfficientNet.Create(EfficientNetConfig.Scaled(c.width * 0.5, c.depth * 0.5, c.classes));
            model.eval();
            using var _ = no_grad();
            var y = model.call(randn(c.batch, 3, c.side, c.side));
            return y.shape.SequenceEqual(new long[] { c.batch, c.classes });
        }).QuickCheckThrowOnFailure();
    }
}
