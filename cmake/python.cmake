# python.cmake - the native part of the Python package (pyproject.toml, python/intfa/). Included
# by CMakeLists.txt after aot.cmake. With INTFA_PYTHON_PACKAGE (on when scikit-build-core builds
# the wheel) the install component "python" puts into <site-packages>/intfa/_lib:
#   libintfa-jit-aot.so.0   the library with the precompiled kernel table (INTFA_AOT_ARCHS),
#                           or libintfa-jit.so.0 when the build has no AOT table
#   liblua5.4.so.0          the Lua the shared library links (a machine without Lua loads it)
#   LICENSE.lua             Lua's copyright notice, where the system has it
# The libraries' run path starts with $ORIGIN, so the package's Lua is found before any other
# and libnvrtc comes from the CUDA toolkit it was built with (python/intfa/_library.py also
# looks in the nvidia-cuda-nvrtc wheel that PyTorch installs). One file per library: a wheel
# cannot hold symbolic links, so the versioned names are not installed.
option(INTFA_PYTHON_PACKAGE "Install the Python package's libraries (component python)" "${SKBUILD}")

if(INTFA_PYTHON_PACKAGE)
  if(INTFA_AOT_ARCHS STREQUAL "")
    set(_intfa_py_lib intfa-jit)
  else()
    set(_intfa_py_lib intfa-jit-aot)
  endif()
  # Exactly this run path, also in the build tree (whose run path gets an empty entry, the
  # current directory, from the implicit link directories). The AOT libraries copy intfa-jit's
  # INSTALL_RPATH when their targets are finished (aot.cmake).
  set_property(TARGET intfa-jit PROPERTY INSTALL_RPATH "$ORIGIN;${CUDAToolkit_LIBRARY_DIR}")
  set_property(TARGET ${_intfa_py_lib} PROPERTY BUILD_WITH_INSTALL_RPATH ON)
  install(FILES $<TARGET_FILE:${_intfa_py_lib}> DESTINATION intfa/_lib
          RENAME lib${_intfa_py_lib}.so.0 COMPONENT python)
  get_filename_component(_intfa_lua_file "${LUA_SHARED_LIB}" REALPATH)
  install(FILES ${_intfa_lua_file} DESTINATION intfa/_lib RENAME liblua5.4.so.0 COMPONENT python)
  foreach(doc /usr/share/doc/liblua5.4-0/copyright)
    if(EXISTS ${doc})
      install(FILES ${doc} DESTINATION intfa/_lib RENAME LICENSE.lua COMPONENT python)
    endif()
  endforeach()
endif()
