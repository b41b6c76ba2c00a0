# `cmake --install`: the library, its headers, a CMake package (qgradConfig.cmake, the target
# qgrad::qgrad) and a pkg-config file (qgrad.pc), so a program outside this tree builds with
#   find_package(qgrad REQUIRED)  +  target_link_libraries(app PRIVATE qgrad::qgrad)
# or with `pkg-config --cflags --libs qgrad`. Headers go to <prefix>/include/qgrad, keeping the
# repository's layout (#include "core/tensor.h", "qgrad.h"). The test install.find_package
# (tests/install/) installs into a temporary prefix and builds tests/install/consumer against it.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(QGRAD_VERSION 0.1.0)
set(QGRAD_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/qgrad)
# The installed headers' folder matches the target's $<INSTALL_INTERFACE:include/qgrad> (top level).
# The headers use C++20, so a program including them must compile as C++20 too.
target_compile_features(qgrad PUBLIC cxx_std_20)

install(TARGETS qgrad EXPORT qgradTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY core nn datasets quant DESTINATION include/qgrad
        FILES_MATCHING PATTERN "*.h")
install(FILES qgrad.h DESTINATION include/qgrad)
install(EXPORT qgradTargets NAMESPACE qgrad:: DESTINATION ${QGRAD_INSTALL_CMAKEDIR})

# The config re-finds what the static library links (the same packages the top level requires),
# and the CUDA toolkit when the library was built with the CUDA backend.
set(QGRAD_CONFIG_WITH_CUDA ${QGRAD_WITH_CUDA})
set(QGRAD_CUDA_ROOT "")
if(QGRAD_WITH_CUDA)
  get_filename_component(QGRAD_CUDA_ROOT "${CUDAToolkit_BIN_DIR}" DIRECTORY)
endif()
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/qgradConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/qgradConfig.cmake
                              INSTALL_DESTINATION ${QGRAD_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/qgradConfigVersion.cmake
                                 VERSION ${QGRAD_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/qgradConfig.cmake ${PROJECT_BINARY_DIR}/qgradConfigVersion.cmake
        DESTINATION ${QGRAD_INSTALL_CMAKEDIR})

# pkg-config: the static library's own link line follows it (Libs, not Libs.private), so a plain
# `pkg-config --libs qgrad` links.
# The prefix is taken relative to the .pc file, so `cmake --install --prefix P` works for any P.
file(RELATIVE_PATH QGRAD_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
string(REGEX REPLACE "/$" "" QGRAD_PC_UP "${QGRAD_PC_UP}")
set(QGRAD_PC_PREFIX "\${pcfiledir}/${QGRAD_PC_UP}")
set(QGRAD_PC_REQUIRES "openblas zlib nlohmann_json libjpeg")
set(QGRAD_PC_CFLAGS "")
set(QGRAD_PC_LIBS "-fopenmp")
if(QGRAD_WITH_CUDA)
  set(QGRAD_PC_CFLAGS "-DQGRAD_HAVE_CUDA=1 -I${CUDAToolkit_INCLUDE_DIRS}")
  # The toolkit's libraries are rarely on the loader's path: the rpath lets the program start.
  string(APPEND QGRAD_PC_LIBS " -L${CUDAToolkit_LIBRARY_DIR} -Wl,-rpath,${CUDAToolkit_LIBRARY_DIR} -lcublasLt -lcublas -lcudart")
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/qgrad.pc.in ${PROJECT_BINARY_DIR}/qgrad.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/qgrad.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The test: install into a temporary prefix (no rebuild), then configure, build and run the
# consumer project with CMake and compile it once more with pkg-config. Not in the sanitizer
# build: its library needs the sanitizer runtime, which the installed package does not link.
if((BUILD_TESTING OR NOT DEFINED BUILD_TESTING) AND NOT QGRAD_SANITIZE)
  add_test(NAME install.find_package
           COMMAND bash ${PROJECT_SOURCE_DIR}/tests/install/install_test.sh ${PROJECT_BINARY_DIR}
                   ${PROJECT_SOURCE_DIR}/tests/install/consumer ${CMAKE_CXX_COMPILER})
  set_tests_properties(install.find_package PROPERTIES LABELS install TIMEOUT 300)
endif()
