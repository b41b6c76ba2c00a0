# Friendly front for CMake. `make` builds, `make test` builds and runs every test,
# `make bench` runs the benchmarks, `make test-sanitize` runs the tests under ASan+UBSan,
# `make data` fetches MNIST and CIFAR-10 into data/ (QGRAD_DATA_MIRROR names a local mirror),
# `make fuzz` / `make fuzz-smoke` run the libFuzzer targets (fuzz/README.md).
BUILD      ?= build
SAN_BUILD  ?= build-sanitize
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps test test-sanitize bench bench-kernels data demo clean notebooks

all: deps
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

# Installs system packages only when something is missing (the script is idempotent).
deps:
	@bash scripts/install_deps.sh --if-missing

# The last line says which tests were skipped and why (scripts/ctest_summary.sh).
test: all
	@bash scripts/ctest_summary.sh $(BUILD) --output-on-failure -j $(JOBS) $(CTEST_ARGS)

test-sanitize: deps
	cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQGRAD_SANITIZE=ON $(CMAKE_ARGS)
	cmake --build $(SAN_BUILD) -j $(JOBS)
	# The e2e programs are left out here: they run in `make test`, and under the sanitizers they
	# would cost minutes while adding no unit of code the unit tests do not already cover.
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -LE e2e

bench: all
	$(BUILD)/bench/bench_core

# --- kernels: the qgemm kernels against OpenBLAS sgemm and the measured int8 peak (~10 s) ---
# Passive OpenMP waiting: on a loaded 2-core machine, threads spinning at a barrier steal the core
# from the thread doing the work (measured: 2-thread qgemm 20x slower with the default policy).
bench-kernels: all
	OMP_WAIT_POLICY=passive $(BUILD)/bench/bench_kernels --json $(BUILD)/bench_kernels.json

# --- bench-cuda: the GPU int8 GEMM ladder vs cuBLASLt (bench_cuda_kernels) and, where built,
# the float training benchmark (bench_cuda_training). Needs a build with the CUDA backend and a
# GPU; without one each program prints "skipped: no CUDA device" (exit 77, not an error here).
.PHONY: bench-cuda
bench-cuda: all
	@test -x $(BUILD)/bench/bench_cuda_kernels || { echo "bench-cuda: no CUDA build (bench_cuda_kernels missing; configure with -DQGRAD_CUDA=ON)"; exit 1; }
	$(BUILD)/bench/bench_cuda_kernels --json $(BUILD)/bench_cuda_kernels.json || test $$? -eq 77
	if [ -x $(BUILD)/bench/bench_cuda_training ]; then $(BUILD)/bench/bench_cuda_training || test $$? -eq 77; fi

# Fills data/mnist and data/cifar10: files already there, else $$QGRAD_DATA_MIRROR, else the web.
data:
	@bash scripts/fetch_data.sh

# The README's first command: build, fetch MNIST, train LeNet-5 for 2 epochs, evaluate it, then
# quantize it to int8 (PTQ) and to 4 bits (QAT, 1 epoch) and print float vs int8 vs int4.
DEMO_DIR ?= $(BUILD)/demo
demo: all
	@bash scripts/fetch_data.sh --only mnist
	@mkdir -p $(DEMO_DIR)
	$(BUILD)/examples/mnist_cnn --epochs 2 --save $(DEMO_DIR)/lenet5.safetensors --metrics-json $(DEMO_DIR)/lenet5.json
	$(BUILD)/examples/evaluate --model $(DEMO_DIR)/lenet5.safetensors --metrics-json $(DEMO_DIR)/lenet5_eval.json
	$(BUILD)/examples/ptq --model $(DEMO_DIR)/lenet5.safetensors --bits 8 --calib-samples 1000 \
	    --save $(DEMO_DIR)/lenet5_int8.safetensors --metrics-json $(DEMO_DIR)/ptq_int8.json
	$(BUILD)/examples/qat --model $(DEMO_DIR)/lenet5.safetensors --bits 4 --epochs 1 \
	    --save $(DEMO_DIR)/lenet5_int4.safetensors --metrics-json $(DEMO_DIR)/qat_int4.json
	@echo "float vs int8 (post-training) vs int4 (quantization-aware training), LeNet-5 on MNIST:"
	@$(BUILD)/examples/quant_report --runs $(DEMO_DIR)/ptq_int8.json,$(DEMO_DIR)/qat_int4.json \
	    --markdown $(DEMO_DIR)/quant_report.md

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)

# Executes every tutorial in notebooks/ in place, storing its outputs and plots (the tests run
# them on copies instead). NOTEBOOKS=notebooks/02_*.ipynb runs a selection.
NOTEBOOKS ?= $(wildcard notebooks/*.ipynb)
notebooks: all
	$(BUILD)/qgrad-python scripts/run_notebooks.py --in-place $(NOTEBOOKS)

# --- bench-pytorch: one MNIST epoch of the MLP and LeNet-5 in qgrad and in PyTorch (when `torch`
# is importable), table of samples/s and accuracy, also written to bench/results/pytorch_mnist.json.
.PHONY: bench-pytorch
bench-pytorch: all
	@bash bench/bench_pytorch.sh --build $(BUILD)

# --- bench-cifar: the CIFAR CNN's float training (batch 128) and inference (batch 256) samples/s in
# qgrad and PyTorch (when `torch` is importable; as installed and with OMP_WAIT_POLICY=PASSIVE),
# alternating rounds at 2 threads, then a LeNet-5 epoch quiet vs beside one busy process; table
# also written to bench/results/cifar_cnn.json. CIFAR_BENCH_ARGS passes --rounds/--threads/--data.
.PHONY: bench-cifar
bench-cifar: all
	@bash bench/bench_cifar.sh --build $(BUILD) $(CIFAR_BENCH_ARGS)

# --- bench-python: one LeNet-5 MNIST epoch as a plain Python loop over qgrad.data.DataLoader vs
# the mnist_cnn program, alternating C++/Python rounds (3) at 2 threads; ratio of the medians, also
# written to bench/results/python_mnist.json. PYTHON_BENCH_ARGS passes --rounds/--data/--threads.
# Runs with the Python the module was built for ($(BUILD)/qgrad-python).
.PHONY: bench-python
bench-python: all
	@bash scripts/fetch_data.sh --only mnist
	$(BUILD)/qgrad-python bench/bench_python.py --build $(BUILD) $(PYTHON_BENCH_ARGS)

# --- bench-inference: int8 vs float inference of LeNet-5 and the CIFAR CNN at batch 1/64/256 and
# 1/2 threads, qgrad and (when `torch` is importable) PyTorch's eager-mode PTQ, one table, also
# written to bench/results/inference.json. INFERENCE_ARGS passes --lenet/--cifar CKPT, --data ROOT.
.PHONY: bench-inference
bench-inference: all
	@bash bench/bench_inference.sh --build $(BUILD) $(INFERENCE_ARGS)

# --- fuzz: the libFuzzer targets in fuzz/ (clang, ASan+UBSan, coverage-instrumented library) in
# their own build folder, each run for FUZZ_SECONDS from seeds made from real data (data/ or
# $$QGRAD_DATA_MIRROR) plus the corpus earlier runs grew. fuzz-smoke: 20 s per target (CI).
# FUZZ_TARGETS=image_fuzz runs one. fuzz/README.md has the details.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=
.PHONY: fuzz fuzz-smoke fuzz-build
fuzz-build:
	@bash scripts/install_deps.sh --if-missing --fuzz
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DQGRAD_SANITIZE=ON -DQGRAD_FUZZ=ON -DQGRAD_CUDA=OFF -DQGRAD_PYTHON=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target qgrad_fuzzers
fuzz: fuzz-build
	bash scripts/run_fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-smoke: fuzz-build
	bash scripts/run_fuzz.sh $(FUZZ_BUILD) 20 $(FUZZ_TARGETS)
