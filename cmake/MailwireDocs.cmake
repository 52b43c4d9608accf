# `docs` target: the API reference from the public headers' comments, built with Doxygen.
# MAILWIRE_DOCS_STRICT=ON turns every Doxygen warning — undocumented public API included — into
# an error (WARN_AS_ERROR=FAIL_ON_WARNINGS: all warnings are listed, then the build fails).
find_package(Doxygen)
if(NOT DOXYGEN_FOUND)
  message(STATUS "mailwire: Doxygen not found, no `docs` target (Debian: apt-get install doxygen)")
  return()
endif()
if(MAILWIRE_DOCS_STRICT)
  set(MAILWIRE_DOXYGEN_WARN_AS_ERROR FAIL_ON_WARNINGS)
else()
  set(MAILWIRE_DOXYGEN_WARN_AS_ERROR NO)
endif()
set(MAILWIRE_DOCS_DIR ${PROJECT_BINARY_DIR}/docs)
configure_file(${PROJECT_SOURCE_DIR}/Doxyfile.in ${MAILWIRE_DOCS_DIR}/Doxyfile @ONLY)
file(GLOB_RECURSE mailwire_public_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/*.hpp)
file(GLOB mailwire_doc_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
add_custom_command(OUTPUT ${MAILWIRE_DOCS_DIR}/html/index.html
                   COMMAND ${DOXYGEN_EXECUTABLE} ${MAILWIRE_DOCS_DIR}/Doxyfile
                   DEPENDS ${mailwire_public_headers} ${MAILWIRE_DOCS_DIR}/Doxyfile ${PROJECT_SOURCE_DIR}/README.md
                           ${mailwire_doc_pages}
                   WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                   COMMENT "Doxygen: API reference in ${MAILWIRE_DOCS_DIR}/html"
                   VERBATIM)
add_custom_target(docs DEPENDS ${MAILWIRE_DOCS_DIR}/html/index.html)
