# aot.cmake - precompiled kernels (docs/AOT.md). Included by CMakeLists.txt right after the
# intfa-jit and intfa-jit-static targets are defined.
#
#   -DINTFA_AOT_ARCHS="80;86;89;90a"   targets to precompile for; empty (the default): none
#   -DINTFA_AOT_TUNING_DB=FILE         precompile a tuning database's winners (and what they
#                                      need) instead of the default set
#   -DINTFA_AOT_GEN_OPTIONS="--head-dims;128"   more intfa-gen selection options
#
# The kernel table is data the runtime reads as intfa_aot_builtin (runtime/aot.h):
#   - intfa-jit and intfa-jit-static link runtime/aot_empty_table.c (no entries). intfa-gen
#     links intfa-jit-static, so the generator never depends on its own output.
#   - With INTFA_AOT_ARCHS set, intfa-gen runs at build time and writes
#     <build>/aot/intfa_aot_table.c; intfa-jit-aot (libintfa-jit-aot.so) and
#     intfa-jit-aot-static (libintfa-jit-aot.a) are the library's objects plus that table,
#     linked like intfa-jit and intfa-jit-static. Both are installed.
#   - With the tests: a small table for all four targets (<build>/aot-test, 12 kernels, about
#     10 s of NVRTC on 2 cores) in intfa-jit-aot-test (shared), which test_aot_lookup and
#     test_gpu_aot link ahead of everything else; test_aot_lookup_static compiles the same
#     table into itself over libintfa-jit.a instead.
#   - The table's writer and reader (tools/gen/aot_emit.c, aot_verify.c) are build-time code:
#     intfa-aot-emit, linked by intfa-gen and the tests, never by the run-time libraries.
# The rest runs deferred, at the end of the top-level CMakeLists.txt, once the tool and test
# targets exist: intfa-gen gets its parts (tools/gen/*.c) and the tests their table.

set(INTFA_AOT_ARCHS "" CACHE STRING
    "Targets to precompile kernels for, e.g. 80;86;89;90a (empty: no AOT libraries)")
set(INTFA_AOT_TUNING_DB "" CACHE FILEPATH
    "A tuning database whose winners are precompiled instead of the default set")
set(INTFA_AOT_GEN_OPTIONS "" CACHE STRING
    "More intfa-gen selection options for the AOT libraries, e.g. --head-dims;128")

# The empty table belongs to the plain libraries only (the runtime/*.c glob took it in).
get_target_property(_intfa_objects_sources intfa_objects SOURCES)
list(FILTER _intfa_objects_sources EXCLUDE REGEX "/runtime/aot_empty_table\\.c$")
set_property(TARGET intfa_objects PROPERTY SOURCES ${_intfa_objects_sources})
foreach(t intfa-jit intfa-jit-static)
  target_sources(${t} PRIVATE ${CMAKE_SOURCE_DIR}/runtime/aot_empty_table.c)
  target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/runtime)
endforeach()

# intfa-gen's --emit-aot and --verify, and the tests of both (test_aot_emit, test_aot_lookup).
set(INTFA_AOT_EMIT_SOURCES ${CMAKE_SOURCE_DIR}/tools/gen/aot_emit.c
                           ${CMAKE_SOURCE_DIR}/tools/gen/aot_verify.c)
add_library(intfa-aot-emit STATIC ${INTFA_AOT_EMIT_SOURCES})
target_include_directories(intfa-aot-emit PUBLIC ${CMAKE_SOURCE_DIR}/tools/gen ${CMAKE_SOURCE_DIR}/runtime
                           PRIVATE ${CMAKE_SOURCE_DIR}/generator)
target_link_libraries(intfa-aot-emit PUBLIC intfa-jit-static)

# intfa_aot_library(<name> <dir> <SHARED|BOTH> <intfa-gen selection options>...):
# intfa-gen --emit-aot <dir> at build time, and the library <name> (shared) and, with BOTH,
# <name>-static: intfa_objects plus the table, linked as intfa-jit / intfa-jit-static are.
function(intfa_aot_library name dir kinds)
  set(table ${dir}/intfa_aot_table.c)
  set(deps intfa-gen)
  if(INTFA_AOT_TUNING_DB)
    list(APPEND deps ${INTFA_AOT_TUNING_DB})
  endif()
  add_custom_command(
    OUTPUT ${table} ${dir}/intfa_aot_table.h
    COMMAND intfa-gen --emit-aot ${dir} ${ARGN}
    DEPENDS ${deps}
    COMMENT "intfa-gen: precompiling kernels for ${name}"
    VERBATIM)
  set(libs ${name})
  add_library(${name} SHARED $<TARGET_OBJECTS:intfa_objects> ${table})
  if(kinds STREQUAL "BOTH")
    add_library(${name}-static STATIC $<TARGET_OBJECTS:intfa_objects> ${table})
    set_target_properties(${name}-static PROPERTIES OUTPUT_NAME ${name})
    list(APPEND libs ${name}-static)
  endif()
  foreach(t ${libs})
    target_include_directories(${t} PRIVATE ${CMAKE_SOURCE_DIR}/runtime ${dir})
  endforeach()
  set_property(GLOBAL APPEND PROPERTY INTFA_AOT_LIBRARIES ${libs})
endfunction()

# Copies what intfa-jit (intfa-jit-static) links and exports to the AOT libraries.
function(_intfa_aot_link_like_plain)
  get_property(libs GLOBAL PROPERTY INTFA_AOT_LIBRARIES)
  foreach(t ${libs})
    get_target_property(type ${t} TYPE)
    set(plain intfa-jit)
    set(props LINK_LIBRARIES INTERFACE_LINK_LIBRARIES INTERFACE_INCLUDE_DIRECTORIES)
    if(type STREQUAL "STATIC_LIBRARY")
      set(plain intfa-jit-static)
    else()
      list(APPEND props VERSION SOVERSION BUILD_RPATH INSTALL_RPATH)
    endif()
    foreach(p ${props})
      get_target_property(v ${plain} ${p})
      if(NOT v MATCHES "NOTFOUND$")   # (SOVERSION 0 is false in an if)
        set_property(TARGET ${t} PROPERTY ${p} "${v}")
      endif()
    endforeach()
  endforeach()
endfunction()

if(NOT INTFA_AOT_ARCHS STREQUAL "")
  string(REPLACE ";" "," _intfa_aot_archs "${INTFA_AOT_ARCHS}")
  set(_intfa_aot_select --arch ${_intfa_aot_archs} ${INTFA_AOT_GEN_OPTIONS})
  if(INTFA_AOT_TUNING_DB)
    list(APPEND _intfa_aot_select --from-tuning-db ${INTFA_AOT_TUNING_DB})
  endif()
  intfa_aot_library(intfa-jit-aot ${CMAKE_BINARY_DIR}/aot BOTH ${_intfa_aot_select})
  install(TARGETS intfa-jit-aot intfa-jit-aot-static)
endif()

set(INTFA_AOT_TEST_DIR ${CMAKE_BINARY_DIR}/aot-test)
if(INTFA_BUILD_TESTS)
  # All four targets (CI links an AOT library for each), kept small: the kernels one fp16
  # causal head_dim-128 attention needs.
  intfa_aot_library(intfa-jit-aot-test ${INTFA_AOT_TEST_DIR} SHARED
    --arch 80,86,89,90a --kinds attn_fwd,quant_qk,quant_v --head-dims 128 --causal 1
    --dtypes fp16 --p-quant pu8)
endif()

# test_aot_lookup and test_gpu_aot (made by the tests/test_*.c loop) link the AOT test library
# first, so its table, not libintfa-jit.a's empty one, serves them; test_aot_lookup_static
# builds the same test with the table compiled in, over libintfa-jit.a.
function(_intfa_aot_tests)
  foreach(t test_aot_lookup test_gpu_aot)
    if(TARGET ${t})
      get_target_property(libs ${t} LINK_LIBRARIES)
      set_property(TARGET ${t} PROPERTY LINK_LIBRARIES intfa-jit-aot-test ${libs})
    endif()
  endforeach()
  if(NOT TARGET test_aot_lookup)
    return()
  endif()
  add_executable(test_aot_lookup_static ${CMAKE_SOURCE_DIR}/tests/test_aot_lookup.c
                 ${INTFA_AOT_TEST_DIR}/intfa_aot_table.c)
  foreach(p INCLUDE_DIRECTORIES LINK_LIBRARIES)
    get_target_property(v test_aot_lookup ${p})
    list(REMOVE_ITEM v intfa-jit-aot-test)
    set_property(TARGET test_aot_lookup_static PROPERTY ${p} "${v}")
  endforeach()
  target_include_directories(test_aot_lookup_static PRIVATE ${INTFA_AOT_TEST_DIR})
  add_test(NAME test_aot_lookup_static COMMAND test_aot_lookup_static)
  foreach(p ENVIRONMENT TIMEOUT SKIP_RETURN_CODE)
    get_test_property(test_aot_lookup ${p} v)
    if(NOT v MATCHES "NOTFOUND$")
      set_tests_properties(test_aot_lookup_static PROPERTIES ${p} "${v}")
    endif()
  endforeach()
endfunction()

function(_intfa_aot_finish)
  file(GLOB gen_parts CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tools/gen/*.c)
  list(REMOVE_ITEM gen_parts ${INTFA_AOT_EMIT_SOURCES})
  target_sources(intfa-gen PRIVATE ${gen_parts})
  target_link_libraries(intfa-gen PRIVATE intfa-aot-emit)
  _intfa_aot_link_like_plain()
  if(INTFA_BUILD_TESTS)
    _intfa_aot_tests()
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _intfa_aot_finish)
