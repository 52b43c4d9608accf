# Included by the add_subdirectory and FetchContent consumers: when mailwire is not the top-level
# project, its tests, tools, examples, docs and install rules must be off by default.
foreach(option MAILWIRE_BUILD_TESTS MAILWIRE_BUILD_TOOLS MAILWIRE_BUILD_EXAMPLES MAILWIRE_BUILD_DOCS MAILWIRE_INSTALL
               MAILWIRE_WERROR)
  if(${option})
    message(FATAL_ERROR "${option} is ON although mailwire is not the top-level project")
  endif()
endforeach()
foreach(target mailwire_cli example_smtp_send mailwire_test_support docs)
  if(TARGET ${target})
    message(FATAL_ERROR "target ${target} exists although mailwire is not the top-level project")
  endif()
endforeach()
message(STATUS "mailwire: tests, tools, examples, docs and install rules are off as a subproject")
