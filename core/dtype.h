// Element types and devices. float32 is the trainable type; int32, int8 and uint8 hold
// quantized data (int8 weights, uint8 activations, int32 accumulators and biases).
#pragma once
#include <cstddef>
#include <cstdint>

namespace qgrad {

enum class DType : uint8_t { Float32, Int32, Int8, UInt8 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::Float32: return 4;
    case DType::Int32: return 4;
    case DType::Int8: return 1;
    case DType::UInt8: return 1;
  }
  return 0;
}

constexpr const char* dtype_name(DType t) {
  switch (t) {
    case DType::Float32: return "float32";
    case DType::Int32: return "int32";
    case DType::Int8: return "int8";
    case DType::UInt8: return "uint8";
  }
  return "?";
}

// The DType that stores C++ type T: dtype_of<float>() == DType::Float32.
template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<int32_t>() { return DType::Int32; }
template <> constexpr DType dtype_of<int8_t>() { return DType::Int8; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::UInt8; }

// Where a tensor's storage lives. CUDA is the seam for the optional GPU backend.
enum class Device : uint8_t { CPU, CUDA };

constexpr const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

}  // namespace qgrad
