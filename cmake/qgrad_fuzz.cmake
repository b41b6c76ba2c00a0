# The libFuzzer build (fuzz/, `make fuzz`, `make fuzz-smoke`): QGRAD_FUZZ=ON, with clang and
# QGRAD_SANITIZE=ON, instruments the whole library for libFuzzer's coverage feedback on top of
# ASan+UBSan, so a fuzz target reaches every parser with the sanitizers on. Included before the
# library is defined (the flags must apply to it); fuzz/CMakeLists.txt adds the targets.
option(QGRAD_FUZZ "Build the libFuzzer targets in fuzz/ (clang, with QGRAD_SANITIZE=ON)" OFF)
if(QGRAD_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "qgrad: QGRAD_FUZZ=ON needs clang (libFuzzer is part of clang). Configure a separate "
                        "build folder with -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ "
                        "(Debian: apt-get install clang libfuzzer-14-dev libomp-dev), as `make fuzz` does.")
  endif()
  if(NOT QGRAD_SANITIZE)
    message(FATAL_ERROR "qgrad: QGRAD_FUZZ=ON needs -DQGRAD_SANITIZE=ON (fuzzing without ASan+UBSan misses "
                        "the memory errors it is for)")
  endif()
  add_compile_options("$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=fuzzer-no-link>")
endif()
