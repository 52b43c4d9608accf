# Install rules: headers, the library, the CMake package (mailwire::mailwire) and mailwire.pc.
#
# The export file is named after the library kind (mailwire-static-targets.cmake or
# mailwire-shared-targets.cmake), so a static and a shared build can be installed into one prefix;
# mailwireConfig.cmake chooses between them.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(BUILD_SHARED_LIBS)
  set(MAILWIRE_LIBRARY_KIND shared)
else()
  set(MAILWIRE_LIBRARY_KIND static)
endif()
set(MAILWIRE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mailwire)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/mailwire DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT mailwire_development FILES_MATCHING PATTERN "*.hpp")
install(TARGETS mailwire EXPORT mailwire-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT mailwire_development
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT mailwire_runtime NAMELINK_COMPONENT mailwire_development
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT mailwire_runtime
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT mailwire-targets NAMESPACE mailwire:: DESTINATION ${MAILWIRE_CMAKE_DIR}
        FILE mailwire-${MAILWIRE_LIBRARY_KIND}-targets.cmake COMPONENT mailwire_development)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/mailwireConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/mailwireConfig.cmake INSTALL_DESTINATION ${MAILWIRE_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/mailwireConfigVersion.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mailwireConfig.cmake ${PROJECT_BINARY_DIR}/mailwireConfigVersion.cmake
        DESTINATION ${MAILWIRE_CMAKE_DIR} COMPONENT mailwire_development)

# pkg-config: relocatable. With a relative CMAKE_INSTALL_LIBDIR, ${prefix} is computed from the
# .pc file's own place (${pcfiledir}), so `cmake --install --prefix P` and a moved tree both work.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(MAILWIRE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH pc_up "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" pc_up "${pc_up}")
  set(MAILWIRE_PC_PREFIX "\${pcfiledir}/${pc_up}")
endif()
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(MAILWIRE_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(MAILWIRE_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
configure_file(${PROJECT_SOURCE_DIR}/cmake/mailwire.pc.in ${PROJECT_BINARY_DIR}/mailwire.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/mailwire.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT mailwire_development)
