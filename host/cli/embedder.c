/* host/cli/embedder.c: the local or remote sentence encoder, as the options
 * choose, behind one interface for the commands. */
#include "cli.h"
#include "hyporank/cache.h"
#include "hyporank/corpus.h"
#include "hyporank/model.h"
#include "hyporank/remote_embed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hr_status cli_embedder_open(cli_embedder *e, const cli_common *opt, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->opt = opt;
    if (!opt->no_cache) {
        const char *path = opt->cache_path;
        if (!path) path = hr_cache_default_path(e->cache_path, sizeof e->cache_path);
        if (!path) {
            snprintf(err, errlen, "no cache location: set HOME or HYPORANK_CACHE, or pass "
                                  "--cache FILE or --no-cache");
            return HR_ERR_IO;
        }
        if (path != e->cache_path) snprintf(e->cache_path, sizeof e->cache_path, "%s", path);
    }
    if (!!opt->embed_url != !!opt->embed_model) {
        snprintf(err, errlen, "--embed-url and --embed-model go together: give both, or neither "
                              "for the local model");
        return HR_ERR_INPUT;
    }
    if (opt->embed_url) {
        hr_remote_options ro;
        hr_remote_options_init(&ro);
        ro.url = opt->embed_url;
        ro.model = opt->embed_model;
        ro.cache_path = e->cache_path[0] ? e->cache_path : NULL;
        ro.progress = cli_progress_update;
        ro.progress_user = &e->bar;
        return hr_remote_embed_create(&ro, &e->remote, err, errlen);
    }
    hr_status st = hr_model_load(opt->model_dir, &e->model, err, errlen);
    if (st == HR_OK) st = hr_encoder_create(e->model, opt->device, opt->threads, &e->enc, err, errlen);
    if (st == HR_OK && e->cache_path[0]) st = hr_cache_open(e->cache_path, &e->cache, err, errlen);
    if (st == HR_OK) e->dim = (size_t)hr_encoder_dim(e->enc);
    return st;
}

void cli_embedder_close(cli_embedder *e)
{
    hr_remote_embed_destroy(e->remote);
    hr_cache_close(e->cache);
    hr_encoder_destroy(e->enc);
    hr_model_destroy(e->model);
    memset(e, 0, sizeof *e);
}

hr_status cli_embedder_embed(cli_embedder *e, const char *const *texts, const size_t *lens,
                             size_t n, const char *label, float **emb, char *err, size_t errlen)
{
    *emb = NULL;
    e->last_computed = e->last_cached = 0;
    cli_progress_init(&e->bar, label, e->opt->quiet);
    hr_status st;
    if (e->remote) {
        int dim = 0;
        hr_remote_stats rs;
        memset(&rs, 0, sizeof rs);
        st = hr_remote_embed(e->remote, texts, lens, n, emb, &dim, &rs, err, errlen);
        if (st == HR_OK) e->dim = (size_t)dim;
        e->last_computed = rs.sent;
        e->last_cached = rs.cache_hits;
    } else {
        *emb = malloc((n ? n : 1) * e->dim * sizeof **emb); /* (n, dim) row-major */
        if (!*emb) {
            snprintf(err, errlen, "out of memory for %zu x %zu embeddings (%s)", n, e->dim, label);
            return HR_ERR_NOMEM;
        }
        hr_embed_stats es = {0, 0};
        st = hr_encoder_embed_cached(e->enc, e->cache, texts, lens, n, *emb, cli_progress_update,
                                     &e->bar, &es, err, errlen);
        e->last_computed = es.computed;
        e->last_cached = es.from_cache;
    }
    cli_progress_finish(&e->bar);
    return st;
}

hr_status cli_embedder_embed_corpus(cli_embedder *e, const hr_corpus *corpus, const char *label,
                                    float **emb, char *err, size_t errlen)
{
    return cli_embedder_embed(e, (const char *const *)corpus->texts, corpus->lens, corpus->n,
                              label, emb, err, errlen);
}

const char *cli_embedder_model(const cli_embedder *e)
{
    return e->remote ? e->opt->embed_model : hr_model_name(e->model);
}

const char *cli_embedder_model_id(const cli_embedder *e)
{
    return e->remote ? hr_remote_embed_model_id(e->remote) : hr_model_id(e->model);
}

const char *cli_embedder_device(const cli_embedder *e)
{
    return e->remote ? "remote" : hr_device_str(hr_encoder_device(e->enc));
}
