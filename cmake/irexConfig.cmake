# irex's CMake package. From an install tree (scripts/install --prefix DIR):
#
#   find_package(irex CONFIG REQUIRED)        # CMAKE_PREFIX_PATH=DIR
#   target_link_libraries(app PRIVATE irex::irex)          # libirex.so
#   target_link_libraries(app PRIVATE irex::irex_static)   # libirex.a
#
# Both bring include/ (irex.h, irex_mlir.h) and IREE's libIREECompiler.so,
# which irex links and which a host embedding IREE's compiler shares with
# it. That library is found, in order, at:
#   - IREE_COMPILER_LIB (a CMake cache variable or an environment variable),
#   - the iree-base-compiler Python package of IREX_PYTHON (cache or
#     environment) or of the first python3 on PATH.
# Nothing of the machine irex was built on is recorded here or in the
# libraries: the package can be moved as a folder.

get_filename_component(_irex_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

function(_irex_find_compiler_lib out)
  if(DEFINED IREE_COMPILER_LIB AND NOT IREE_COMPILER_LIB STREQUAL "")
    set(${out} "${IREE_COMPILER_LIB}" PARENT_SCOPE)
    return()
  endif()
  if(DEFINED ENV{IREE_COMPILER_LIB} AND NOT "$ENV{IREE_COMPILER_LIB}" STREQUAL "")
    set(${out} "$ENV{IREE_COMPILER_LIB}" PARENT_SCOPE)
    return()
  endif()
  set(_python "${IREX_PYTHON}")
  if(_python STREQUAL "")
    set(_python "$ENV{IREX_PYTHON}")
  endif()
  if(_python STREQUAL "")
    find_program(_python NAMES python3 python)
  endif()
  if(_python)
    execute_process(
      COMMAND "${_python}" -c
        "import importlib.util, os; spec = importlib.util.find_spec('iree.compiler'); print(os.path.join(list(spec.submodule_search_locations)[0], '_mlir_libs', 'libIREECompiler.so'))"
      OUTPUT_VARIABLE _found OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE _status ERROR_QUIET)
    if(_status EQUAL 0)
      set(${out} "${_found}" PARENT_SCOPE)
      return()
    endif()
  endif()
  set(${out} "" PARENT_SCOPE)
endfunction()

_irex_find_compiler_lib(_irex_compiler_lib)
if(_irex_compiler_lib STREQUAL "" OR NOT EXISTS "${_irex_compiler_lib}")
  set(irex_FOUND FALSE)
  set(irex_NOT_FOUND_MESSAGE
    "irex needs IREE's libIREECompiler.so and found none: set IREE_COMPILER_LIB to its path, or install the iree-base-compiler Python package (pip install iree-base-compiler==3.13.0) for the python3 on PATH or IREX_PYTHON (looked at: '${_irex_compiler_lib}')")
  return()
endif()
set(IREE_COMPILER_LIB "${_irex_compiler_lib}" CACHE FILEPATH "IREE's libIREECompiler.so, which irex links")

if(NOT TARGET irex::IREECompiler)
  add_library(irex::IREECompiler SHARED IMPORTED)
  set_target_properties(irex::IREECompiler PROPERTIES
    IMPORTED_LOCATION "${IREE_COMPILER_LIB}"
    IMPORTED_SONAME "libIREECompiler.so")
endif()

if(NOT TARGET irex::irex)
  add_library(irex::irex SHARED IMPORTED)
  set_target_properties(irex::irex PROPERTIES
    IMPORTED_LOCATION "${_irex_prefix}/lib/libirex.so"
    IMPORTED_SONAME "libirex.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_irex_prefix}/include"
    # libirex.so records no search path (the tree moves), and a RUNPATH of
    # the app does not reach a library's own dependencies: so the app itself
    # needs libIREECompiler.so, even where the toolchain links --as-needed,
    # and finds it by its RUNPATH to IREE_COMPILER_LIB's folder.
    INTERFACE_LINK_LIBRARIES "-Wl,--push-state,--no-as-needed;irex::IREECompiler;-Wl,--pop-state")
endif()

if(NOT TARGET irex::irex_static)
  find_package(Threads REQUIRED)
  add_library(irex::irex_static STATIC IMPORTED)
  set_target_properties(irex::irex_static PROPERTIES
    IMPORTED_LOCATION "${_irex_prefix}/lib/libirex.a"
    INTERFACE_INCLUDE_DIRECTORIES "${_irex_prefix}/include"
    INTERFACE_LINK_LIBRARIES "irex::IREECompiler;Threads::Threads;dl;m;stdc++"
    # As cargo links Rust programs: the archive holds melior's wrappers of
    # MLIR passes IREE's library does not export; unused, their sections go.
    INTERFACE_LINK_OPTIONS "LINKER:--gc-sections")
endif()

# bin/irex finds libIREECompiler.so itself, the same two ways, when it runs.
set(irex_EXECUTABLE "${_irex_prefix}/bin/irex")
set(irex_LIBRARY "${_irex_prefix}/lib/libirex.so")
set(irex_INCLUDE_DIR "${_irex_prefix}/include")
unset(_irex_prefix)
unset(_irex_compiler_lib)
