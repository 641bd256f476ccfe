/* A program under mpirun (include/longctx/sp.h): MPI set up and torn down,
 * and a model every rank loads with one agreed outcome. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "longctx/sp.h"

lc_status lc_sp_world_begin(lc_sp_world *w, bool quiet_others, lc_error *err) {
    w->rank = 0, w->n_ranks = 1, w->started = false;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        if (MPI_Init(NULL, NULL) != MPI_SUCCESS) return lc_fail(err, LC_ERR_INTERNAL, "MPI_Init failed");
        w->started = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &w->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w->n_ranks);
    if (quiet_others && w->rank != 0) {
        fflush(stdout);
        const int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            close(fd);
        }
    }
    return LC_OK;
}

void lc_sp_world_end(lc_sp_world *w) {
    fflush(stdout);
    if (w->started) MPI_Finalize();
    w->started = false;
}

lc_status lc_sp_model_load(MPI_Comm comm, const char *path, const lc_model_load_opts *opts, lc_model **out,
                           lc_error *err) {
    *out = NULL;
    lc_error mine;
    const lc_status st = path ? lc_model_load(path, opts, out, &mine)
                              : lc_fail(&mine, LC_ERR_INVALID_ARG, "no model (-m MODEL)");
    const lc_status agreed = lc_sp_agree(comm, st, &mine, err);
    if (agreed != LC_OK) {
        lc_model_free(*out);
        *out = NULL;
    }
    return agreed;
}
