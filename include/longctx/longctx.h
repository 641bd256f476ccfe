/*
 * longctx/longctx.h — every public header of the library, for programs that
 * want all of it (link with `pkg-config --libs longctx` or CMake's
 * `find_package(longctx)` + `target_link_libraries(... longctx::longctx)`).
 */
#ifndef LONGCTX_LONGCTX_H
#define LONGCTX_LONGCTX_H

#include "longctx/common.h"
#include "longctx/sys.h"
#include "longctx/util.h"
#include "longctx/attn.h"
#include "longctx/rope.h"
#include "longctx/kernels.h"
#include "longctx/gguf.h"
#include "longctx/tokenizer.h"
#include "longctx/model.h"
#include "longctx/sample.h"
#include "longctx/runtime.h"
#include "longctx/text.h"
#include "longctx/eval.h"

#endif /* LONGCTX_LONGCTX_H */
