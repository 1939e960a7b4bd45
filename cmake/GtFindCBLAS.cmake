# gt_find_cblas(): find a CBLAS (OpenBLAS first, then a generic `cblas`) with pkg-config,
# make sure <cblas.h> is reachable and cblas_sgemm links, and wrap it all in the INTERFACE
# target `gt_cblas`.
#
# Debian's libopenblas-dev installs cblas.h under /usr/include/x86_64-linux-gnu/openblas-pthread/
# (or openblas-openmp/, openblas-serial/) and openblas.pc points -I there. The plain
# /usr/include/x86_64-linux-gnu/cblas.h is an alternatives symlink that may belong to another
# BLAS, so the directory that pkg-config gives wins; the usual locations are the fallback.
#
# Sets in the caller's scope: GT_CBLAS_FOUND, GT_CBLAS_NAME, GT_CBLAS_PC_LIBS (for Libs.private).
include(CheckCSourceCompiles)

function(gt_find_cblas)
  set(GT_CBLAS_FOUND FALSE PARENT_SCOPE)
  find_package(PkgConfig QUIET)
  if(NOT PKG_CONFIG_FOUND)
    message(STATUS "gradtape: pkg-config not found; BLAS disabled")
    return()
  endif()

  foreach(mod IN ITEMS openblas cblas)
    pkg_check_modules(GT_PKG_${mod} QUIET IMPORTED_TARGET ${mod})
    if(NOT GT_PKG_${mod}_FOUND)
      continue()
    endif()

    unset(GT_CBLAS_INCLUDE_DIR CACHE)
    find_path(GT_CBLAS_INCLUDE_DIR cblas.h
      HINTS ${GT_PKG_${mod}_INCLUDE_DIRS}
      NO_DEFAULT_PATH)
    if(NOT GT_CBLAS_INCLUDE_DIR)
      find_path(GT_CBLAS_INCLUDE_DIR cblas.h
        PATH_SUFFIXES openblas openblas-pthread openblas-openmp openblas-serial
                      x86_64-linux-gnu/openblas-pthread x86_64-linux-gnu/openblas-openmp
                      x86_64-linux-gnu/openblas-serial)
    endif()
    if(NOT GT_CBLAS_INCLUDE_DIR)
      message(STATUS "gradtape: pkg-config has '${mod}' but cblas.h was not found")
      continue()
    endif()

    set(CMAKE_REQUIRED_QUIET ON)
    set(CMAKE_REQUIRED_INCLUDES "${GT_CBLAS_INCLUDE_DIR}")
    set(CMAKE_REQUIRED_LIBRARIES PkgConfig::GT_PKG_${mod})
    unset(GT_CBLAS_LINKS_${mod} CACHE)
    check_c_source_compiles("
      #include <cblas.h>
      int main(void) {
        float a[1] = {2.0f}, b[1] = {3.0f}, c[1] = {0.0f};
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1.0f, a, 1, b, 1, 0.0f, c, 1);
        return c[0] == 6.0f ? 0 : 1;
      }" GT_CBLAS_LINKS_${mod})
    if(NOT GT_CBLAS_LINKS_${mod})
      message(STATUS "gradtape: '${mod}' found but a cblas_sgemm test program does not link")
      continue()
    endif()

    if(NOT TARGET gt_cblas)
      add_library(gt_cblas INTERFACE)
      target_include_directories(gt_cblas INTERFACE "${GT_CBLAS_INCLUDE_DIR}")
      target_link_libraries(gt_cblas INTERFACE PkgConfig::GT_PKG_${mod})
    endif()
    string(REPLACE ";" " " _ldflags "${GT_PKG_${mod}_LDFLAGS}")
    message(STATUS "gradtape: CBLAS from pkg-config '${mod}' ${GT_PKG_${mod}_VERSION}, "
                   "cblas.h in ${GT_CBLAS_INCLUDE_DIR}")
    set(GT_CBLAS_FOUND TRUE PARENT_SCOPE)
    set(GT_CBLAS_NAME "${mod} ${GT_PKG_${mod}_VERSION}" PARENT_SCOPE)
    set(GT_CBLAS_PC_LIBS "${_ldflags}" PARENT_SCOPE)
    return()
  endforeach()
endfunction()
