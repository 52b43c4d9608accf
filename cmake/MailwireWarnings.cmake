# Strict warnings for mailwire's own targets only (never for consumers). -Werror only when
# MAILWIRE_WERROR is on (the default when mailwire is the top-level project), so that a newer
# compiler in a project that pulls mailwire in with add_subdirectory/FetchContent cannot break it.
function(mailwire_warnings target)
  set(werror)
  if(MAILWIRE_WERROR)
    set(werror -Werror)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wall -Wextra ${werror} -Wshadow=local -Wnon-virtual-dtor
                                             -Wno-missing-field-initializers)
  elseif(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra ${werror} -Wshadow-uncaptured-local -Wnon-virtual-dtor
                                             -Wno-missing-field-initializers)
  endif()
endfunction()
