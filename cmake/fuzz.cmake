# fuzz.cmake - libFuzzer harnesses (fuzz/fuzz_*.c, docs/FUZZING.md), with -DINTFA_FUZZ=ON and
# clang: everything compiles with -fsanitize=fuzzer-no-link,address,undefined (set in
# CMakeLists.txt before the library's targets), each harness links -fsanitize=fuzzer.
# scripts/fuzz.sh configures, builds and runs them.
if(NOT INTFA_FUZZ)
  return()
endif()
file(GLOB INTFA_FUZZERS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c)
set(INTFA_FUZZER_TARGETS "")
foreach(src ${INTFA_FUZZERS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/fuzz ${CMAKE_SOURCE_DIR}/runtime
    ${CMAKE_SOURCE_DIR}/generator ${CMAKE_SOURCE_DIR}/tuning ${CUDAToolkit_INCLUDE_DIRS})
  target_link_libraries(${name} PRIVATE intfa-jit-static)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  list(APPEND INTFA_FUZZER_TARGETS ${name})
endforeach()
add_custom_target(fuzzers DEPENDS ${INTFA_FUZZER_TARGETS})
