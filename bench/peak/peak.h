// Peak int8 multiply-add throughput of this CPU, measured with independent accumulator chains so
// only the multiplier ports limit it (used by bench_kernels for its "share of peak" column).
// Ops count a multiply-add as 2; a vpmaddubsw counts its nominal 32 u8 x s8 products, a vpmaddwd
// its 16 int16 products, a vpdpbusd (zmm) its 64. Each returns 0 when the CPU lacks the
// instructions; x86-64 only.
#pragma once

namespace qgrad::bench {

double peak_gops_avx2(int threads);        // vpmaddubsw + vpmaddwd + vpaddd (the int8 peak)
double peak_gops_avx2_int16(int threads);  // vpmaddwd + vpaddd (what the int16-widening avx2 kernel can reach)
double peak_gops_avx512vnni(int threads);  // vpdpbusd zmm

}  // namespace qgrad::bench
