# Runs one CLI test: a command, its expected exit code, and regular expressions its stdout and
# stderr must (or must not) match. Invoked by CTest as
#   cmake -DCMD=<prog|arg|arg...> -DCODE=<n> [-DOUT=<regex>] [-DERR=<regex>] [-DREQUIRE=<path>]
#         [-DEMPTY_DIR=<path>] [-DUNREADABLE=<file>] [-DNOBODY=1] -P run.cmake
# Arguments are separated by '|' so they may contain ';' and spaces. A sanitizer report on stderr
# always fails the test (ASan and UBSan exit with 1, which a test expecting 1 would otherwise take
# for success). REQUIRE names data the test needs: without it the test prints SKIP and CTest
# reports it skipped (SKIP_REGULAR_EXPRESSION).
# No display, whatever the machine has: with the viewer built, a display would open a window.
unset(ENV{DISPLAY})
unset(ENV{WAYLAND_DISPLAY})
if(DEFINED REQUIRE AND NOT EXISTS "${REQUIRE}")
  message("SKIP: ${REQUIRE} is not present")
  return()
endif()
if(DEFINED EMPTY_DIR)
  file(REMOVE_RECURSE "${EMPTY_DIR}")
  file(MAKE_DIRECTORY "${EMPTY_DIR}")
endif()
string(REPLACE "|" ";" _cmd "${CMD}")
# UNREADABLE: make that file unreadable (mode 000) for the command. Root reads everything, so as
# root the command runs as `nobody` through setpriv; where that cannot work the test is skipped.
# NOBODY: run the command as `nobody` when the tests run as root (a folder root owns is then not
# writable to it), as UNREADABLE does.
if(DEFINED UNREADABLE OR DEFINED NOBODY)
  if(DEFINED UNREADABLE)
    execute_process(COMMAND chmod 000 "${UNREADABLE}" COMMAND_ERROR_IS_FATAL ANY)
  endif()
  execute_process(COMMAND id -u OUTPUT_VARIABLE _uid OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(_uid STREQUAL "0")
    find_program(_setpriv setpriv)
    if(NOT _setpriv)
      message("SKIP: running as root and setpriv (util-linux) is missing, so no file is unreadable")
      return()
    endif()
    set(_drop ${_setpriv} --reuid=65534 --regid=65534 --clear-groups --)
    list(GET _cmd 0 _prog)
    execute_process(COMMAND ${_drop} ${_prog} --version RESULT_VARIABLE _can_run OUTPUT_QUIET ERROR_QUIET)
    if(NOT _can_run EQUAL 0)
      message("SKIP: user nobody cannot run ${_prog} (a parent folder is not world-readable)")
      return()
    endif()
    list(PREPEND _cmd ${_drop})
  endif()
endif()
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
