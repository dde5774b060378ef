# check_no_libcuda.cmake: the binaries must start on a machine without the NVIDIA driver, so none
# may have a link-time dependency (NEEDED) on libcuda.so (the driver) or libcudart.so (the CUDA
# runtime is linked statically into libngp and loads the driver itself). Also checks that libngp
# does carry device code (a .nv_fatbin section), so the check is not vacuous.
#   cmake -DFILES="a|b|..." -DLIB=libngp.so -P check_no_libcuda.cmake
find_program(READELF readelf)
if(NOT READELF)
  message("SKIP: readelf not found (binutils)")
  return()
endif()
string(REPLACE "|" ";" FILES "${FILES}")
foreach(f IN LISTS FILES)
  execute_process(COMMAND ${READELF} -d ${f} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "readelf -d ${f} failed (${rc})")
  endif()
  string(REGEX MATCHALL "NEEDED[^\n]*" needed "${out}")
  foreach(line IN LISTS needed)
    if(line MATCHES "libcuda\\.so|libcudart\\.so|libnvidia")
      message(FATAL_ERROR "${f} needs a CUDA driver/runtime library at link time: ${line}; link CUDA::cudart_static "
                          "and never CUDA::cuda_driver (see src/cuda/CMakeLists.txt)")
    endif()
  endforeach()
  message(STATUS "${f}: no libcuda/libcudart among ${needed}")
endforeach()
if(LIB)
  execute_process(COMMAND ${READELF} -S -W ${LIB} OUTPUT_VARIABLE sections)
  if(NOT sections MATCHES "nv_fatbin")
    message(FATAL_ERROR "${LIB} has no .nv_fatbin section: the CUDA kernels are not in the library")
  endif()
endif()
