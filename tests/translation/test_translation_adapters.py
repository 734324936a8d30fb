"""The junyanz weight format: old official checkpoints load strictly and compute what the plain weights compute."""

from __future__ import annotations

import pytest
import torch
from junyanz_helpers import build, config_from_title, legacy_checkpoint, randomize
from torch import nn

from zoo.errors import WeightsError
from zoo.weights.serialization import load_checkpoint
from zoo_translation.adapters import adapt_junyanz_state_dict, infer_architecture, infer_resnet_blocks
from zoo_translation.networks import ResnetGenerator, UnetGenerator

SMALL = {
    "resnet_9blocks": (lambda: ResnetGenerator(3, 3, ngf=8, norm="instance", n_blocks=9), (1, 3, 32, 36)),
    "resnet_6blocks": (lambda: ResnetGenerator(3, 3, ngf=8, norm="instance", n_blocks=6), (1, 3, 28, 32)),
    "unet_256 batch": (lambda: UnetGenerator(3, 3, num_downs=8, ngf=8, norm="batch", use_dropout=True), (1, 3, 256, 256)),
    "unet_256 instance": (lambda: UnetGenerator(3, 3, num_downs=8, ngf=8, norm="instance"), (1, 3, 256, 256)),
}


def load_through_adapter(make, path) -> nn.Module:
    model = make()
    raw = load_checkpoint(path)
    model.load_state_dict(adapt_junyanz_state_dict(raw, model, origin=str(path)), strict=True)
    return model


@pytest.mark.parametrize("config", sorted(SMALL))
@pytest.mark.parametrize("module_prefix", [False, True])
def test_legacy_checkpoint_loads_strictly_and_matches_plain_weights(config, module_prefix, tmp_path):
    make, shape = SMALL[config]
    source = randomize(make(), seed=3)
    path = legacy_checkpoint(source, tmp_path / "latest_net_G.pth", module_prefix=module_prefix)
    raw = load_checkpoint(path)
    assert hasattr(raw, "_metadata")
    if "instance" in config or "resnet" in config:
        assert any(k.endswith("running_mean") for k in raw)  # the pre-0.4 InstanceNorm buffers are really there
    if "instance" in config or "resnet" in config or module_prefix:
        with pytest.raises(RuntimeError):
            make().load_state_dict(raw, strict=True)  # what upstream users hit without the patch

    ours = load_through_adapter(make, path).eval()
    plain = make()
    plain.load_state_dict(source.state_dict(), strict=True)
    plain.eval()
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0)) * 2 - 1
    with torch.no_grad():
        assert torch.equal(ours(x), plain(x))
    for key, value in plain.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key


@pytest.mark.parametrize("title", ["resnet_9blocks instance", "resnet_6blocks instance", "unet_256 batch"])
def test_full_size_official_layouts_load_strictly(title, tmp_path):
    name, kwargs = config_from_title(title)
    source = build(name, **kwargs)
    path = legacy_checkpoint(source, tmp_path / "net.pth", drop_batch_counters=True)
    target = build(name, **kwargs)
    adapted = adapt_junyanz_state_dict(load_checkpoint(path), target)
    assert target.load_state_dict(adapted, strict=True) is not None
    assert set(adapted) == set(source.state_dict())


def test_extra_instance_norm_keys_are_exactly_the_69_of_resnet_9blocks(tmp_path):
    model = ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=9)
    raw = load_checkpoint(legacy_checkpoint(model, tmp_path / "h2z.pth"))
    adapted = adapt_junyanz_state_dict(raw, model)
    assert len(raw) == 48 + 69 and len(adapted) == 48  # 23 InstanceNorms x 3 buffers


def test_batch_norm_statistics_are_never_dropped_and_old_counters_are_filled(tmp_path):
    model = randomize(UnetGenerator(3, 3, num_downs=5, ngf=4, norm="batch"))
    raw = load_checkpoint(legacy_checkpoint(model, tmp_path / "p2p.pth", drop_batch_counters=True))
    assert not any(k.endswith("num_batches_tracked") for k in raw)
    adapted = adapt_junyanz_state_dict(raw, model)
    assert set(adapted) == set(model.state_dict())
    running = [k for k in adapted if k.endswith("running_var")]
    assert running and all(torch.equal(adapted[k], raw[k]) for k in running)
    assert all(adapted[k].item() == 0 for k in adapted if k.endswith("num_batches_tracked"))


def test_input_mapping_is_not_modified_and_metadata_key_is_dropped():
    model = ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=1)
    state = dict(model.state_dict())
    state["model.2.running_mean"] = torch.zeros(4)
    state["_metadata"] = {"": {"version": 1}}  # some converters store it as a key
    snapshot = dict(state)
    adapted = adapt_junyanz_state_dict(state, model)
    assert state.keys() == snapshot.keys()
    assert set(adapted) == set(model.state_dict())


def test_non_tensor_entries_get_a_clear_error():
    model = ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=1)
    with pytest.raises(WeightsError, match=r"'epoch' is a int, not a tensor \(file ckpt.pth\)"):
        adapt_junyanz_state_dict({"epoch": 3, **model.state_dict()}, model, origin="ckpt.pth")


def test_block_count_mismatch_names_expected_found_and_file(tmp_path):
    six = ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=6)
    path = legacy_checkpoint(six, tmp_path / "cityscapes.pth")
    nine = ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=9)
    with pytest.raises(WeightsError) as info:
        adapt_junyanz_state_dict(load_checkpoint(path), nine, origin=str(path))
    message = str(info.value)
    assert "expected 9 residual blocks, checkpoint has 6" in message and "cityscapes.pth" in message
    assert "n_blocks=6" in message


def test_infer_resnet_blocks_from_reference_keys(junyanz_key_sections):
    for section in junyanz_key_sections:
        if not section.keys:
            continue
        keys = dict.fromkeys(k for k, _ in section.keys)
        name, kwargs = config_from_title(section.title)
        assert infer_resnet_blocks(keys) == kwargs.get("n_blocks", 0), section.title
        assert infer_resnet_blocks({"module." + k: None for k in keys}) == kwargs.get("n_blocks", 0)


@pytest.mark.parametrize("kwargs", [
    {"norm": "instance", "n_blocks": 9}, {"norm": "batch", "n_blocks": 6, "use_dropout": True},
    {"norm": "none", "n_blocks": 3, "padding_type": "zero"}, {"norm": "instance", "n_blocks": 2, "use_dropout": True,
                                                              "padding_type": "zero", "input_nc": 1, "output_nc": 2},
])
def test_infer_architecture_recovers_resnet_kwargs(kwargs):
    full = {"input_nc": 3, "output_nc": 3, "ngf": 8, "use_dropout": False, "padding_type": "reflect", **kwargs}
    name, inferred = infer_architecture(ResnetGenerator(**full).state_dict())
    assert name == "resnet_generator" and inferred == full


@pytest.mark.parametrize("num_downs,norm", [(8, "batch"), (7, "batch"), (8, "instance"), (5, "none")])
def test_infer_architecture_recovers_unet_kwargs(num_downs, norm):
    net = UnetGenerator(3, 2, num_downs=num_downs, ngf=4, norm=norm)
    assert infer_architecture(net.state_dict()) == (
        "unet_generator", {"input_nc": 3, "output_nc": 2, "num_downs": num_downs, "ngf": 4, "norm": norm})


def test_infer_architecture_rejects_other_checkpoints():
    with pytest.raises(WeightsError, match="not a junyanz"):
        infer_architecture({"conv_first.weight": torch.zeros(1)})


@pytest.mark.parametrize("ckpt_dropout,model_dropout", [(True, False), (False, True)])
def test_dropout_layout_is_remapped_exactly(ckpt_dropout, model_dropout, tmp_path):
    source = randomize(ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=3, use_dropout=ckpt_dropout), seed=5)
    path = legacy_checkpoint(source, tmp_path / "apple2orange.pth")
    make = lambda: ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=3, use_dropout=model_dropout)  # noqa: E731
    ours = load_through_adapter(make, path).eval()
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(ours(x), source.eval()(x))  # dropout is the identity in eval mode


def test_other_mismatches_are_left_for_the_strict_load(tmp_path):
    source = ResnetGenerator(3, 3, ngf=4, norm="batch", n_blocks=2)
    target = ResnetGenerator(3, 3, ngf=4, norm="instance", n_blocks=2)
    adapted = adapt_junyanz_state_dict(source.state_dict(), target)
    assert "model.2.weight" in adapted and "model.1.bias" not in adapted  # BatchNorm affine kept, conv bias absent
    with pytest.raises(RuntimeError, match=r"model\.1\.bias"):
        target.load_state_dict(adapted, strict=True)
