# Small C programs the integration tests drive (included from
# tests/integration/CMakeLists.txt). Each links the same connector_core the
# daemon runs and lands next to the binary, where the tests find it via
# BM_BUILD_DIR.
add_executable(mb_client_driver ${CMAKE_CURRENT_LIST_DIR}/mb_client_driver.c)
target_link_libraries(mb_client_driver PRIVATE connector_core)
set_target_properties(mb_client_driver PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
add_executable(notify_receiver ${CMAKE_CURRENT_LIST_DIR}/notify_receiver.c)
target_link_libraries(notify_receiver PRIVATE PkgConfig::MHD)
set_target_properties(notify_receiver PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})
