# Strict warnings for mailwire's own targets only (never for consumers).
function(mailwire_warnings target)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow=local -Wnon-virtual-dtor
                                             -Wno-missing-field-initializers)
  elseif(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow-uncaptured-local -Wnon-virtual-dtor
                                             -Wno-missing-field-initializers)
  endif()
endfunction()
