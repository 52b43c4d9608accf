# Strict warnings for mailwire's own targets only (never for consumers). -Werror only when
# MAILWIRE_WERROR is on (the developers' and CI's builds, never by default), so that a newer
# compiler — in a packager's Release build or a project that pulls mailwire in — cannot break it.
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
