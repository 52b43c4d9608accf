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
    # GCC 12 reports -Wrestrict for plain `"literal" + std::string` once inlined at -O3 (GCC bugs
    # 105329 and 105651, fixed in GCC 13): a false positive from libstdc++'s own code, so a
    # packager's Release build would warn on correct code. Off for GCC 12 only.
    if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      target_compile_options(${target} PRIVATE -Wno-restrict)
    endif()
  elseif(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra ${werror} -Wshadow-uncaptured-local -Wnon-virtual-dtor
                                             -Wno-missing-field-initializers)
  endif()
endfunction()
