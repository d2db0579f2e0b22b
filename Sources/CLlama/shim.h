// The llama.cpp C API as installed by scripts/setup.sh (headers under .welfare/llama/include).
#include <llama.h>
#include <ggml.h>
#include <ggml-backend.h>
#include <gguf.h>
