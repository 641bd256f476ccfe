/* Prototypes of the `longctx bench` subjects listed in bench_subjects.def. */
#ifndef LC_CLI_BENCH_SUBJECTS_H
#define LC_CLI_BENCH_SUBJECTS_H

#define LC_BENCH_SUBJECT(name, summary) int bench_##name(int argc, char **argv);
#include "bench_subjects.def"
#undef LC_BENCH_SUBJECT

#endif
