"""Devices from Python: Tensor.to("cpu"|"cuda"), Module.to(...), qgrad.cuda.is_available(), and
the errors for unknown names or a CUDA device that is not there. With a GPU visible, a tensor
and a model make the round trip."""
import numpy as np
import pytest

import qgrad


def test_cuda_is_available_answers_a_bool_and_names_the_device_or_why_not():
    assert isinstance(qgrad.cuda.is_available(), bool)
    assert isinstance(qgrad.cuda.device_name(), str)
    if not qgrad.cuda.is_available():
        assert "no CUDA device" in qgrad.cuda.device_name()


def test_to_cpu_keeps_the_tensor_and_unknown_devices_are_refused():
    t = qgrad.tensor([1.0, 2.0, 3.0])
    assert t.to("cpu").device == "cpu"
    np.testing.assert_array_equal(t.to("cpu").numpy(), [1.0, 2.0, 3.0])
    assert t.to(qgrad.int32).dtype == qgrad.int32  # the dtype overload still works
    with pytest.raises(qgrad.Error, match="unknown device 'gpu'"):
        t.to("gpu")


def test_module_to_cpu_returns_the_module():
    model = qgrad.nn.model("mlp", seed=1)
    assert model.to("cpu") is model
    assert model.device == "cpu"


@pytest.mark.skipif(qgrad.cuda.is_available(), reason="checks the refusal without a GPU")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(qgrad.Error, match="device 'cuda' is not available"):
        qgrad.tensor([1.0]).to("cuda")
    model = qgrad.nn.model("mlp", seed=1)
    with pytest.raises(qgrad.Error, match="device 'cuda' is not available"):
        model.to("cuda")
    assert model.device == "cpu"


@pytest.mark.skipif(not qgrad.cuda.is_available(), reason="needs a visible CUDA GPU")
def test_cuda_round_trip_and_host_access():
    t = qgrad.tensor([1.5, -2.0, 3.0])
    g = t.to("cuda")
    assert g.device == "cuda"
    assert (g * 2.0).to("cpu").numpy().tolist() == [3.0, -4.0, 6.0]
    assert g[0].item() == 1.5
    with pytest.raises(qgrad.Error, match="NumPy views host memory only"):
        g.numpy()
    model = qgrad.nn.model("mlp", seed=1).to("cuda")
    assert model.device == "cuda"
    out = model(qgrad.zeros([2, 1, 28, 28]).to("cuda"))
    assert out.device == "cuda" and list(out.shape) == [2, 10]
