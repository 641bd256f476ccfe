/*
 * Internal spelling of longctx/util.h (checked arithmetic, random numbers,
 * byte formatting), kept so the library's sources need not change.
 */
#ifndef LC_COMMON_UTIL_H
#define LC_COMMON_UTIL_H

#include "longctx/util.h"

#endif /* LC_COMMON_UTIL_H */
