# Install rules and the package files for consumers of an installed tree:
#  - C:   include/dataport.h + lib/libdataport_c.so, pkg-config `dataport` (lib/pkgconfig/dataport.pc)
#  - C++: include/dataport/*.hpp + lib/libdataport_core.a, CMake `find_package(dataport)` giving
#         dataport::core (static, needs the same Debian -dev packages) and dataport::c.
# Included from capi/CMakeLists.txt (after dataport_c exists).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DATAPORT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/dataport)
set_target_properties(dataport_core PROPERTIES EXPORT_NAME core)
set_target_properties(dataport_c PROPERTIES EXPORT_NAME c)

install(TARGETS dataport_core dataport_c EXPORT dataportTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/include/dataport DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_SOURCE_DIR}/capi/include/dataport.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT dataportTargets NAMESPACE dataport:: DESTINATION ${DATAPORT_CMAKE_DIR})

set(DATAPORT_CONFIG_IN ${CMAKE_CURRENT_BINARY_DIR}/dataportConfig.cmake.in)
file(WRITE ${DATAPORT_CONFIG_IN} [=[
# dataport package: dataport::core (C++ API, static) and dataport::c (C ABI, shared).
@PACKAGE_INIT@
include(CMakeFindDependencyMacro)
find_dependency(Threads)
find_dependency(Boost 1.81 COMPONENTS url)
find_dependency(OpenSSL)
find_dependency(fmt)
find_dependency(pugixml)
find_dependency(yaml-cpp)
find_dependency(nlohmann_json 3.10)
find_dependency(spdlog)
include("${CMAKE_CURRENT_LIST_DIR}/dataportTargets.cmake")
check_required_components(dataport)
]=])
configure_package_config_file(${DATAPORT_CONFIG_IN} ${CMAKE_CURRENT_BINARY_DIR}/dataportConfig.cmake
  INSTALL_DESTINATION ${DATAPORT_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/dataportConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/dataportConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/dataportConfigVersion.cmake
        DESTINATION ${DATAPORT_CMAKE_DIR})

set(DATAPORT_PC ${CMAKE_CURRENT_BINARY_DIR}/dataport.pc)
file(WRITE ${DATAPORT_PC}.in [=[
prefix=@CMAKE_INSTALL_PREFIX@
libdir=${prefix}/@CMAKE_INSTALL_LIBDIR@
includedir=${prefix}/@CMAKE_INSTALL_INCLUDEDIR@

Name: dataport
Description: dataport C ABI (dataport.h): URI resolution, listing, reads and copies for ML data
Version: @PROJECT_VERSION@
Libs: -L${libdir} -ldataport_c
Cflags: -I${includedir}
]=])
# The prefix is substituted at install time, so `cmake --install --prefix X` gets a correct file.
install(CODE "
  set(CMAKE_INSTALL_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${DATAPORT_PC}.in\" \"${DATAPORT_PC}.installed\" @ONLY)
  file(INSTALL \"${DATAPORT_PC}.installed\" DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\"
       RENAME dataport.pc)
")
