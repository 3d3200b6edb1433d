# `cmake --install build --prefix P`: the public headers, the libraries, the
# `arachne` binary and the CMake package (find_package(Arachne) with the
# target Arachne::arachne); `cpack -G DEB` packs the same into one .deb.
include(CMakePackageConfigHelpers)

# The one target an app links: the actors (crawl facade, built-in sinks) and
# the framework under them.
add_library(arachne_sdk INTERFACE)
set_target_properties(arachne_sdk PROPERTIES EXPORT_NAME arachne)
target_link_libraries(arachne_sdk INTERFACE arachne_actors arachne_framework)

set(ARACHNE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Arachne)
install(TARGETS arachne_sdk arachne_actors arachne_framework arachne_state
  EXPORT ArachneTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  COMPONENT dev)
install(TARGETS arachne RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
# Public headers only: the framework's and the actors' include/ folders. The
# actors' own folders and the state store stay private.
install(DIRECTORY framework/include/arachne actors/include/arachne
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT dev
  FILES_MATCHING PATTERN "*.hpp")
install(EXPORT ArachneTargets
  NAMESPACE Arachne::
  DESTINATION ${ARACHNE_CMAKE_DIR}
  COMPONENT dev)

if(TARGET mimalloc AND ARACHNE_SANITIZE STREQUAL "")
  set(ARACHNE_WITH_MIMALLOC TRUE)
else()
  set(ARACHNE_WITH_MIMALLOC FALSE)
endif()
configure_package_config_file(cmake/ArachneConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/ArachneConfig.cmake
  INSTALL_DESTINATION ${ARACHNE_CMAKE_DIR})
# 0.x: a new minor version may change the API.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ArachneConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/ArachneConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/ArachneConfigVersion.cmake
  cmake/FindCAF.cmake
  DESTINATION ${ARACHNE_CMAKE_DIR}
  COMPONENT dev)

# -- the Debian package (cpack -G DEB) -----------------------------------------
set(CPACK_PACKAGE_NAME arachne)
set(CPACK_PACKAGE_VENDOR "Arachne")
set(CPACK_PACKAGE_CONTACT "Arachne developers <arachne@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "actor-model web crawling framework and crawler")
set(CPACK_PACKAGE_DESCRIPTION
  "Arachne crawls the web with CAF actors on every core and across machines: \
the arachne command-line crawler, and the headers, libraries and CMake package \
(find_package(Arachne)) to write crawler apps.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # arachne_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://localhost/arachne")
# The binary's shared libraries, computed by dpkg-shlibdeps; the headers and
# the CMake package need the development packages of what apps link.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libcaf-dev (>= 0.17), libboost1.81-dev, libssl-dev (>= 3.0), libxml2-dev, libpsl-dev, \
libidn2-dev, zlib1g-dev, libsqlite3-dev, libbrotli-dev, libzstd-dev, libc-ares-dev, pkg-config")
if(ARACHNE_WITH_MIMALLOC)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libmimalloc-dev")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "cmake, g++")
include(CPack)
