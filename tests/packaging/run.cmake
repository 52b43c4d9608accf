# Driver for the packaging tests (cmake -P): builds mailwire or a consumer project outside the
# main build tree and runs the consumer against the test servers.
#
#   cmake -DMODE=install|find_package|pkg_config|add_subdirectory|fetchcontent -DSOURCE_DIR=… -DWORK_DIR=…
#         -DENV_FILE=… -DGENERATOR=… -DCXX=… [-DBUILD_DIR=…] -P run.cmake
#
# MODE=install runs `cmake --install` on BUILD_DIR (the project's own build, already built by the
# time CTest runs) into a fresh prefix; without BUILD_DIR it configures and builds a tests-off tree.
# The add_subdirectory and FetchContent consumers build the library as part of themselves.
# Build directories are kept between runs (incremental); the install prefix is made afresh.
cmake_minimum_required(VERSION 3.25)
set(here ${CMAKE_CURRENT_LIST_DIR})
set(prefix ${WORK_DIR}/prefix)
set(common -G ${GENERATOR} -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=${CXX})

# The library directory the mailwire build installs into (lib, lib64 or lib/<multiarch>).
if(NOT BUILD_DIR)
  set(BUILD_DIR ${WORK_DIR}/mailwire)
endif()
function(installed_libdir out)
  file(STRINGS ${BUILD_DIR}/CMakeCache.txt line REGEX "^CMAKE_INSTALL_LIBDIR:")
  string(REGEX REPLACE "^[^=]*=" "" dir "${line}")
  if(dir STREQUAL "")
    set(dir lib)
  endif()
  set(${out} ${dir} PARENT_SCOPE)
endfunction()

# run(step COMMAND…): runs quietly; on failure prints everything and fails the test.
function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message("${out}")
    message(FATAL_ERROR "packaging ${MODE}: ${step} failed (${rc}): ${ARGN}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

function(build_and_run src bin)
  run(configure ${CMAKE_COMMAND} -S ${src} -B ${bin} ${common} ${ARGN})
  run(build ${CMAKE_COMMAND} --build ${bin} -j2)
  run(consumer ${bin}/packaging_consumer ${ENV_FILE})
  message("${last_output}")
endfunction()

if(MODE STREQUAL "install")
  file(REMOVE_RECURSE ${prefix})
  if(BUILD_DIR STREQUAL "${WORK_DIR}/mailwire")
    run(configure ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BUILD_DIR} ${common}
        -DMAILWIRE_BUILD_TESTS=OFF -DMAILWIRE_BUILD_EXAMPLES=OFF
        -DMAILWIRE_BUILD_DOCS=OFF -DMAILWIRE_BUILD_TOOLS=ON -DMAILWIRE_INSTALL=ON)
    run(build ${CMAKE_COMMAND} --build ${BUILD_DIR} -j2)
  endif()
  run(install ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
  installed_libdir(libdir)
  foreach(f include/mailwire/mailwire.hpp include/mailwire/imap/client.hpp ${libdir}/libmailwire.a
            bin/mailwire ${libdir}/cmake/mailwire/mailwireConfig.cmake
            ${libdir}/cmake/mailwire/mailwireConfigVersion.cmake
            ${libdir}/cmake/mailwire/mailwire-static-targets.cmake ${libdir}/pkgconfig/mailwire.pc)
    if(NOT EXISTS ${prefix}/${f})
      message(FATAL_ERROR "packaging install: ${f} was not installed")
    endif()
  endforeach()
  # No private header or source may leak into the installed tree.
  file(GLOB_RECURSE leaked ${prefix}/include/*.cpp ${prefix}/include/*openssl* ${prefix}/include/mailwire/detail/*)
  if(leaked)
    message(FATAL_ERROR "packaging install: unexpected files installed: ${leaked}")
  endif()
  run(cli ${prefix}/bin/mailwire --version)
  message("installed into ${prefix}; mailwire --version: ${last_output}")
elseif(MODE STREQUAL "find_package")
  build_and_run(${here}/consumer ${WORK_DIR}/find_package -DCMAKE_PREFIX_PATH=${prefix})
  # SameMajorVersion: asking for 1.0 must not find 0.x.
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${here}/consumer -B ${WORK_DIR}/find_package_v1 ${common}
                          -DCMAKE_PREFIX_PATH=${prefix} -DMAILWIRE_WANT_VERSION=1.0
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  if(rc EQUAL 0)
    message(FATAL_ERROR "packaging find_package: find_package(mailwire 1.0) accepted version 0.x")
  endif()
  message("find_package(mailwire 1.0) refused 0.x as it should")
elseif(MODE STREQUAL "pkg_config")
  find_program(PKG_CONFIG pkg-config REQUIRED)
  installed_libdir(libdir)
  set(ENV{PKG_CONFIG_PATH} ${prefix}/${libdir}/pkgconfig)
  run(pkg-config ${PKG_CONFIG} --static --cflags --libs mailwire)
  string(STRIP "${last_output}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(modversion ${PKG_CONFIG} --modversion mailwire)
  message("pkg-config mailwire: version ${last_output}flags ${flags}")
  file(MAKE_DIRECTORY ${WORK_DIR}/pkg_config)
  run(compile ${CXX} -std=c++20 -O1 ${here}/consumer/main.cpp -o ${WORK_DIR}/pkg_config/packaging_consumer ${flags})
  run(consumer ${WORK_DIR}/pkg_config/packaging_consumer ${ENV_FILE})
  message("${last_output}")
elseif(MODE STREQUAL "add_subdirectory")
  build_and_run(${here}/subdir ${WORK_DIR}/add_subdirectory -DMAILWIRE_SOURCE_DIR=${SOURCE_DIR})
  file(GLOB shared ${WORK_DIR}/add_subdirectory/mailwire/libmailwire.so*)
  if(NOT shared)
    message(FATAL_ERROR "packaging add_subdirectory: BUILD_SHARED_LIBS=ON did not build libmailwire.so")
  endif()
elseif(MODE STREQUAL "fetchcontent")
  # The committed HEAD of the local checkout, cloned over file://; a tree without git (a tarball)
  # is used in place through FETCHCONTENT_SOURCE_DIR_MAILWIRE, the documented override.
  find_package(Git QUIET)
  if(GIT_FOUND AND EXISTS ${SOURCE_DIR}/.git)
    run(git-head ${GIT_EXECUTABLE} -C ${SOURCE_DIR} rev-parse HEAD)
    string(STRIP "${last_output}" head)
    set(fetch -DMAILWIRE_GIT_REPOSITORY=file://${SOURCE_DIR} -DMAILWIRE_GIT_TAG=${head})
  else()
    set(fetch -DMAILWIRE_GIT_REPOSITORY=none -DMAILWIRE_GIT_TAG=none -DFETCHCONTENT_SOURCE_DIR_MAILWIRE=${SOURCE_DIR})
  endif()
  build_and_run(${here}/fetchcontent ${WORK_DIR}/fetchcontent ${fetch})
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
