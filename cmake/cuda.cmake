# Optional CUDA language. NGP_CUDA=AUTO enables it when a CUDA compiler is found (CUDACXX, PATH,
# or the usual /usr/local/cuda); ON requires it; OFF never looks. The architectures are the
# caller's CMAKE_CUDA_ARCHITECTURES; we never detect them from the build machine.
#
# When enabled, src/cuda/CMakeLists.txt adds the backend's sources to the ngp library (with the
# CUDA runtime linked statically: the binaries never need libcuda or libcudart at link time; the
# runtime loads the driver with dlopen when a GPU is first asked for).
set(NGP_CUDA_ENABLED OFF)
if(NOT NGP_CUDA STREQUAL "OFF")
  if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    find_program(_ngp_nvcc nvcc)
    if(NOT _ngp_nvcc)
      set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
    endif()
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
      # A portable default (Turing to Hopper); Nix passes cudaCapabilities instead.
      set(CMAKE_CUDA_ARCHITECTURES "75;80;86;89;90" CACHE STRING "CUDA architectures" FORCE)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    # The fused MLPs use tensor cores through WMMA (half precision), which needs sm_70 or newer.
    foreach(_arch IN LISTS CMAKE_CUDA_ARCHITECTURES)
      if(_arch MATCHES "^([0-9]+)" AND CMAKE_MATCH_1 LESS 70)
        message(FATAL_ERROR "CMAKE_CUDA_ARCHITECTURES contains ${_arch}: the CUDA backend needs compute capability "
                            "7.0 or newer (tensor cores). Use for example -DCMAKE_CUDA_ARCHITECTURES=\"75;80;86;89;90\".")
      endif()
    endforeach()
    set(NGP_CUDA_ENABLED ON)
    message(STATUS "CUDA ${CMAKE_CUDA_COMPILER_VERSION} (${CMAKE_CUDA_COMPILER}), architectures: ${CMAKE_CUDA_ARCHITECTURES}")
  elseif(NGP_CUDA STREQUAL "ON")
    message(FATAL_ERROR "NGP_CUDA=ON but no CUDA compiler was found. Set CUDACXX or CMAKE_CUDA_COMPILER to nvcc, or configure with -DNGP_CUDA=OFF.")
  else()
    message(STATUS "CUDA: no nvcc found, building the CPU backend only (NGP_CUDA=AUTO)")
  endif()
endif()

# Warning flags for our own CUDA sources (the C flags of warnings.cmake do not apply to nvcc).
set(NGP_CUDA_WARNINGS -Xcompiler=-Wall,-Wextra,-Wshadow -Xcudafe=--display_error_number)
if(NGP_WARNINGS_AS_ERRORS)
  list(APPEND NGP_CUDA_WARNINGS --Werror=all-warnings -Xcompiler=-Werror)
endif()

