# nto_require(PREFIX pkg-config-name debian-package)
# Looks a library up with pkg-config and creates PkgConfig::PREFIX; stops configuring with the
# Debian package to install when it is missing.
function(nto_require prefix module debpkg)
  pkg_check_modules(${prefix} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${prefix}_FOUND)
    message(FATAL_ERROR
      "Missing dependency '${module}' (pkg-config). Install it with: apt-get install ${debpkg}\n"
      "(scripts/setup installs every dependency.)")
  endif()
  message(STATUS "${module} ${${prefix}_VERSION}")
endfunction()
