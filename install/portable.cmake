# Included into llama-cpp-python's own CMake project (CMAKE_PROJECT_llama_cpp_INCLUDE) by the
# portable build of install/llama.py. With GGML_BACKEND_DL, llama.cpp builds one CPU backend
# per instruction-set level (libggml-cpu-haswell.so, -skylakex.so, ...) and picks the best the
# running CPU supports at load time; llama-cpp-python installs none of them, so this installs
# them beside libllama, where rag.llama_runtime loads them from. The Sapphire Rapids variant is
# left out: its AMX kernels trap on many AMX Xeons (ggml-org/llama.cpp#26954); those CPUs get
# the best variant below it.
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _rag_install_cpu_variants)

function(_rag_install_cpu_variants)
    foreach(variant x64 sse42 sandybridge ivybridge piledriver haswell skylakex cannonlake
                    cascadelake icelake cooperlake zen4 alderlake)
        set(target ggml-cpu-${variant})
        if(TARGET ${target})
            set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN" BUILD_WITH_INSTALL_RPATH TRUE)
            install(TARGETS ${target} LIBRARY DESTINATION ${SKBUILD_PLATLIB_DIR}/llama_cpp/lib)
        endif()
    endforeach()
endfunction()
