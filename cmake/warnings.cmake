# Compiler warnings and sanitizers, applied to our own targets through ngp_set_warnings().
set(NGP_C_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                   -Wdouble-promotion -Wformat=2 -Wvla)
if(NGP_WARNINGS_AS_ERRORS)
  list(APPEND NGP_C_WARNINGS -Werror)
endif()

if(NGP_SANITIZE)
  set(NGP_SANITIZE_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_compile_options("$<$<COMPILE_LANGUAGE:C>:${NGP_SANITIZE_FLAGS}>")
  add_link_options(${NGP_SANITIZE_FLAGS})
endif()

function(ngp_set_warnings target)
  target_compile_options(${target} PRIVATE "$<$<COMPILE_LANGUAGE:C>:${NGP_C_WARNINGS}>")
endfunction()
