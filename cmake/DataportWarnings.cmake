# Warnings are errors in every target dataport builds.
function(dataport_set_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
    -Wimplicit-fallthrough -Werror
    # GCC 12 false positive on Asio coroutine frames (operator delete of awaitable_frame_base).
    -Wno-mismatched-new-delete)
endfunction()
