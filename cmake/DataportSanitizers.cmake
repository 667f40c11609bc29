# DATAPORT_SANITIZE=ON builds everything with ASan+UBSan; CI runs the whole suite that way.
if(DATAPORT_SANITIZE)
  set(dataport_sanitizers -fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14 cannot emit -fsanitize=function's prologue data for coroutines (see fuzz/).
    list(APPEND dataport_sanitizers -fno-sanitize=function)
  endif()
  add_compile_options(${dataport_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(${dataport_sanitizers})
endif()
