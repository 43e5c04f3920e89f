using Harness.Model;
using Harness.Model.Channels;
using Harness.Model.Layers;
using Harness.Model.Networks;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Harness.Tests.Unit.Model;

/// <summary>Properties every <see cref="IPrunableNetwork"/>'s declaration must have, checked against the module
/// itself: each layer named exists, each conv, linear and BatchNorm appears with the roles its kind needs (the first
/// conv's inputs, the image, and the classifier's outputs are in no space), and each space's width is the channel
/// count its members see.</summary>
public static class ChannelDeclarationChecks
{
    /// <summary>Asserts that the declaration of <paramref name="network"/> covers its module tree exactly and that
    /// every width agrees with the layers.</summary>
    public static void DeclarationMatchesTheModule(IPrunableNetwork network)
    {
        var declaration = network.DeclareChannels();
        var modules = network.Module.named_modules().ToDictionary(m => m.name, m => m.module);
        var roles = new Dictionary<string, List<ChannelRole>>();
        var first = network.PrunableLayers().First().Layer;
        Assert.Multiple(() =>
        {
            foreach (var space in declaration.Spaces)
                foreach (var member in space.Members)
                {
                    roles.TryAdd(member.Layer, []);
                    roles[member.Layer].Add(member.Role);
                    Assert.That(modules.TryGetValue(member.Layer, out var module), Is.True,
                        $"space '{space.Name}' names '{member.Layer}', which is no module");
                    if (module is null) continue;
                    Assert.That(Channels(module, member.Role), Is.EqualTo(space.Width), $"space '{space.Name}': {member}");
                }
            foreach (var (a, b) in declaration.Ties)
                Assert.That(declaration[a].Width, Is.EqualTo(declaration[b].Width), $"tied spaces '{a}' and '{b}'");

            foreach (var (name, module) in modules)
            {
                var expected = module switch
                {
                    PrunableConv2d conv when conv.Groups > 1 => new[] { ChannelRole.Depthwise },
                    PrunableConv2d when ReferenceEquals(module, first) => [ChannelRole.Out],
                    PrunableConv2d => [ChannelRole.Out, ChannelRole.In],
                    PrunableLinear when ReferenceEquals(module, network.Classifier) => [ChannelRole.In],
                    BatchNorm2d => [ChannelRole.BatchNorm],
                    _ => null,
                };
                if (expected is null) continue;
                Assert.That(roles.GetValueOrDefault(name) ?? [], Is.EquivalentTo(expected), $"roles of '{name}'");
            }
        });
    }

    /// <summary>The number of groups the ties leave (spaces joined by ties count once).</summary>
    public static int GroupCount(ChannelDeclaration declaration)
    {
        var names = declaration.Spaces.Select(s => s.Name).ToList();
        var root = names.ToDictionary(n => n, n => n);
        string Find(string n) => root[n] == n ? n : root[n] = Find(root[n]);
        foreach (var (a, b) in declaration.Ties) root[Find(a)] = Find(b);
        return names.Select(Find).Distinct().Count();
    }

    /// <summary>Asserts that the spaces are declared in the order of the modules that write them (the first
    /// <see cref="ChannelRole.Out"/> member of each, in module order).</summary>
    public static void SpacesFollowModuleOrder(IPrunableNetwork network)
    {
        var order = ModuleOrder.Named(network.Module).Select((m, i) => (m.Name, i)).ToDictionary(p => p.Name, p => p.i);
        var writers = network.DeclareChannels().Spaces
            .Select(s => (s.Name, Writer: s.Members.Where(m => m.Role == ChannelRole.Out).Min(m => order[m.Layer])))
            .ToList();
        Assert.That(writers.Select(w => w.Writer), Is.Ordered.Ascending, string.Join(", ", writers.Select(w => w.Name)));
    }

    private static long Channels(nn.Module module, ChannelRole role) => (module, role) switch
    {
        (PrunableConv2d c, ChannelRole.Out) => c.Weight.shape[0],
        (PrunableConv2d c, ChannelRole.In) => c.Weight.shape[1] * c.Groups,
        (PrunableConv2d c, ChannelRole.Depthwise) when c.Weight.shape[1] == 1 && c.Groups == c.Weight.shape[0] => c.Weight.shape[0],
        (PrunableLinear l, ChannelRole.Out) => l.Weight.shape[0],
        (PrunableLinear l, ChannelRole.In) => l.Weight.shape[1],
        (BatchNorm2d b, ChannelRole.BatchNorm) => b.weight!.shape[0],
        _ => -1,
    };
}
