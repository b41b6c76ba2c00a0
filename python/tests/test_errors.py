"""The error mapping: a C++ qgrad::Error arrives as qgrad.Error (a RuntimeError) with the C++
message; a wrong argument type is a TypeError naming the function; misuse never crashes the
interpreter (each case runs in a child process too, so a crash would fail the test, not kill
pytest)."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import qgrad


def test_error_is_a_runtime_error_with_the_cpp_message():
    assert issubclass(qgrad.Error, RuntimeError)
    with pytest.raises(qgrad.Error) as e:
        qgrad.zeros([2, 3]) @ qgrad.zeros([2, 3])
    assert str(e.value).startswith("qgrad::matmul")
    assert "[2, 3]" in str(e.value)


def test_type_errors_name_the_function():
    with pytest.raises(TypeError, match="matmul"):
        qgrad.matmul(qgrad.zeros([2, 2]), "not a tensor")
    with pytest.raises(TypeError, match="zeros"):
        qgrad.zeros("2x3")
    with pytest.raises(TypeError, match="reshape"):
        qgrad.zeros([6]).reshape(2.5, 3)


@pytest.mark.parametrize("call, message", [
    (lambda: qgrad.zeros([2, 3]) + qgrad.zeros([4]), "broadcast"),
    (lambda: qgrad.zeros([2, 3]).view(4, 2), "view"),
    (lambda: qgrad.zeros([2, 3]).transpose(0, 5), "transpose"),
    (lambda: qgrad.conv2d(qgrad.zeros([1, 3, 8, 8]), qgrad.zeros([4, 2, 3, 3])), "conv2d"),
    (lambda: qgrad.cross_entropy(qgrad.zeros([2, 3]), qgrad.tensor([0.0, 1.0])), "cross_entropy"),
    (lambda: qgrad.cross_entropy(qgrad.zeros([2, 3]), qgrad.tensor([0, 7])), "cross_entropy"),
    (lambda: qgrad.relu(qgrad.zeros([2], qgrad.int8)), "relu"),
    (lambda: qgrad.zeros([2], qgrad.int8).copy_(qgrad.zeros([2])), "copy_"),
    (lambda: qgrad.nn.model("resnet9000"), "resnet9000"),
])
def test_bad_calls_raise_qgrad_error(call, message):
    with pytest.raises(qgrad.Error, match=message):
        call()


def run_child(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_misuse_does_not_crash_the_interpreter():
    # Every statement must raise a Python exception; the child prints how many did.
    code = """
    import gc, numpy as np, qgrad
    cases = [
        lambda: qgrad.from_numpy(np.zeros((2, 2), np.float64)),
        lambda: qgrad.tensor(np.zeros((2, 2), np.float32))[5],
        lambda: qgrad.Tensor([[1.0], [2.0, 3.0]]),
        lambda: qgrad.zeros([-1]),
        lambda: qgrad.zeros([3]).item(),
        lambda: qgrad.nn.Module()(qgrad.zeros([1])),
        lambda: qgrad.nn.model("lenet5")(qgrad.zeros([2, 3])),
        lambda: qgrad.nn.model("mlp").load_state_dict({"1.weight": np.zeros((2, 2), np.float32)}),
        lambda: qgrad.tensor([1.0]).backward(qgrad.zeros([5])),
    ]
    raised = 0
    for case in cases:
        try:
            case()
        except Exception as e:
            raised += 1
    # A tensor whose NumPy array went away still reads its (kept-alive) memory.
    a = np.arange(4, dtype=np.float32)
    t = qgrad.from_numpy(a)
    del a; gc.collect()
    assert t.tolist() == [0.0, 1.0, 2.0, 3.0]
    print("raised", raised, "of", len(cases))
    """
    r = run_child(code)
    assert r.returncode == 0, r.stderr
    assert "raised 9 of 9" in r.stdout, r.stdout + r.stderr


def test_python_module_mistakes_are_named():
    class NoForward(qgrad.nn.Module):
        pass

    class WrongReturn(qgrad.nn.Module):
        def forward(self, x):
            return 3

    with pytest.raises(qgrad.Error, match="NoForward defines no forward"):
        NoForward()(qgrad.ones([1]))
    with pytest.raises(TypeError, match="WrongReturn.forward returned int"):
        WrongReturn()(qgrad.ones([1]))
