# Runs one CLI test: a command, its expected exit code, and regular expressions its stdout and
# stderr must (or must not) match. Invoked by CTest as
#   cmake -DCMD=<prog|arg|arg...> -DCODE=<n> [-DOUT=<regex>] [-DERR=<regex>] [-DREQUIRE=<path>]
#         [-DEMPTY_DIR=<path>] -P run.cmake
# Arguments are separated by '|' so they may contain ';' and spaces. A sanitizer report on stderr
# always fails the test (ASan and UBSan exit with 1, which a test expecting 1 would otherwise take
# for success). REQUIRE names data the test needs: without it the test prints SKIP and CTest
# reports it skipped (SKIP_REGULAR_EXPRESSION).
if(DEFINED REQUIRE AND NOT EXISTS "${REQUIRE}")
  message("SKIP: ${REQUIRE} is not present")
  return()
endif()
if(DEFINED EMPTY_DIR)
  file(REMOVE_RECURSE "${EMPTY_DIR}")
  file(MAKE_DIRECTORY "${EMPTY_DIR}")
endif()
string(REPLACE "|" ";" _cmd "${CMD}")
execute_process(COMMAND ${_cmd} RESULT_VARIABLE _code OUTPUT_VARIABLE _out ERROR_VARIABLE _err TIMEOUT 600)
message("---- exit code: ${_code}\n---- stdout:\n${_out}\n---- stderr:\n${_err}")
set(_failed "")
if(NOT "${_code}" STREQUAL "${CODE}")
  string(APPEND _failed "exit code ${_code}, expected ${CODE}; ")
endif()
if(DEFINED OUT AND NOT _out MATCHES "${OUT}")
  string(APPEND _failed "stdout does not match '${OUT}'; ")
endif()
if(DEFINED ERR AND NOT _err MATCHES "${ERR}")
  string(APPEND _failed "stderr does not match '${ERR}'; ")
endif()
if(_err MATCHES "Sanitizer|runtime error:|Segmentation fault|core dumped")
  string(APPEND _failed "a sanitizer or crash report is on stderr; ")
endif()
if(_failed)
  message(FATAL_ERROR "FAILED: ${_failed}")
endif()
