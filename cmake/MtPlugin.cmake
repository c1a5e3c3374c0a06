# mt_add_plugin(<kind> <name> SOURCES ... [LIBS ...])
# Builds build/plugins/<kind>-<name>.so. A plugin links only against the
# plugin API library (mtapi) and third-party libraries, never kernel internals.
# -fno-gnu-unique: without it, STB_GNU_UNIQUE symbols make dlclose a no-op and
# the library could never really be unloaded.
function(mt_add_plugin kind name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  set(target plugin-${kind}-${name})
  add_library(${target} MODULE ${P_SOURCES})
  target_link_libraries(${target} PRIVATE mtapi ${P_LIBS})
  target_compile_options(${target} PRIVATE -fno-gnu-unique -fvisibility=hidden)
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${kind}-${name}
    LIBRARY_OUTPUT_DIRECTORY ${MT_PLUGIN_OUTPUT_DIR}
    BUILD_RPATH "$ORIGIN/../lib"
    INSTALL_RPATH "$ORIGIN/../lib")
  set_property(GLOBAL APPEND PROPERTY MT_PLUGIN_TARGETS ${target})
endfunction()
