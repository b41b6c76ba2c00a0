# Sourced by the benchmark scripts that compare with PyTorch (bench_pytorch.sh, bench_cifar.sh).
# torch_python prints the Python that can import torch and numpy, or nothing: QGRAD_TORCH_PYTHON
# when set, else /usr/bin/python3 (where Debian's python3-torch installs; a pyenv or venv python3
# earlier on the PATH often lacks it), else python3 on the PATH.
torch_python() {
  local py
  for py in ${QGRAD_TORCH_PYTHON:-} /usr/bin/python3 python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c "import torch, numpy" >/dev/null 2>&1; then
      echo "$py"
      return
    fi
  done
}
