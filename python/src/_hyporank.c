/*
 * python/src/_hyporank.c: the extension module hyporank._hyporank, the thin
 * layer between the Python package (python/hyporank/) and libhyporank. It
 * converts, calls and raises; the pipelines are the library's.
 *
 * Written against the CPython limited API of 3.11 (one abi3 wheel for every
 * CPython from 3.11 on; the buffer protocol joined the limited API in 3.11).
 *
 * Types (all internal; the package wraps them):
 *   Embedder  an hr_embedder with a lock (the library's embedder is for one
 *             thread at a time; Python threads queue on the lock, with the
 *             GIL released while they wait).
 *   Corpus    texts (and, for explain, a label and a score per text) lent to
 *             the library as an hr_corpus: the texts' pointers are the str
 *             objects' own UTF-8, kept alive by a tuple of them.
 *   Matrix    a float32 (rows, cols) matrix the library allocated, handed to
 *             Python through the buffer protocol (numpy wraps it, no copy);
 *             it frees the memory when the last view goes.
 *   Report    the library's report (rank, describe) or explain report, with
 *             the Corpus objects whose texts it points into.
 *
 * Embedding matrices coming in (rank's a_emb, b_emb, h_emb; embed's out=)
 * are taken through the buffer protocol as C-contiguous float32 and given to
 * the library where they lie: the pointer the library reads is the array's.
 *
 * Every library call runs with the GIL released. Its events come back on the
 * calling thread: a progress callback (Python, so it takes the GIL for the
 * call) and the cancel hook (hyporank/events.h), which takes the GIL to run
 * PyErr_CheckSignals: Ctrl-C stops the call between batches, and the
 * KeyboardInterrupt is raised once the library has returned. An exception
 * raised by the progress callback stops the call the same way and is raised
 * in its place.
 */
#define PY_SSIZE_T_CLEAN
#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x030B0000
#endif
#include <Python.h>

#include "hyporank/corpus.h"
#include "hyporank/describe.h"
#include "hyporank/device.h"
#include "hyporank/embedder.h"
#include "hyporank/events.h"
#include "hyporank/explain_run.h"
#include "hyporank/html.h"
#include "hyporank/rank.h"
#include "hyporank/report.h"
#include "hyporank/scorer.h"
#include "hyporank/status.h"

#include "backends/cpu/blas_core.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HR_DEFAULT_MODEL_DIR
#define HR_DEFAULT_MODEL_DIR ""
#endif
#ifndef HR_VERSION
#define HR_VERSION "0"
#endif

/* Library messages are one line; this holds the longest with room. */
#define ERR_LEN 2048

static PyObject *Error, *InputError, *ModelError, *DeviceError, *LLMError;
static PyTypeObject *EmbedderType, *CorpusType, *MatrixType, *ReportType;

/* ---- errors ---- */

static const char *status_name(hr_status st)
{
    switch (st) {
    case HR_OK: return "ok";
    case HR_ERR_INPUT: return "input";
    case HR_ERR_IO: return "io";
    case HR_ERR_NOMEM: return "nomem";
    case HR_ERR_MODEL: return "model";
    case HR_ERR_UNSUPPORTED: return "unsupported";
    case HR_ERR_NO_DEVICE: return "no_device";
    case HR_ERR_CUDA: return "cuda";
    case HR_ERR_CACHE: return "cache";
    case HR_ERR_INTERNAL: return "internal";
    case HR_ERR_CANCELLED: return "cancelled";
    }
    return "unknown";
}

/* Raises type(msg) with .status = status_name(st); returns NULL. */
static PyObject *raise_with_status(PyObject *type, hr_status st, const char *msg)
{
    PyObject *exc = PyObject_CallFunction(type, "s", msg);
    if (!exc) return NULL;
    PyObject *name = PyUnicode_FromString(status_name(st));
    if (!name || PyObject_SetAttrString(exc, "status", name) < 0) {
        Py_XDECREF(name);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(name);
    PyErr_SetObject(type, exc);
    Py_DECREF(exc);
    return NULL;
}

/* Endpoints a call talks to: their origins ("scheme://host[:port]"), which
 * the HTTP client names in its messages. */
typedef struct endpoints {
    char origin[2][512];
    int n;
} endpoints;

static void endpoints_add(endpoints *ep, const char *url)
{
    if (!url || ep->n == 2) return;
    const char *host = strstr(url, "://");
    if (!host) return;
    host += 3;
    const char *end = host + strcspn(host, "/?#");
    for (const char *at = host; at < end; at++) /* credentials are never in messages */
        if (*at == '@') host = at + 1;
    snprintf(ep->origin[ep->n++], sizeof ep->origin[0], "%.*s://%.*s", (int)(strstr(url, "://") - url),
             url, (int)(end - host), host);
}

/* The library's status as an exception: InputError, ModelError, DeviceError,
 * LLMError (an endpoint of the call failed: an input/output error, or any
 * error that names the endpoint), else Error. Returns NULL. */
static PyObject *raise_status(hr_status st, const char *err, const endpoints *ep)
{
    const char *msg = err && *err ? err : hr_status_str(st);
    PyObject *type = Error;
    switch (st) {
    case HR_ERR_INPUT: type = InputError; break;
    case HR_ERR_MODEL: type = ModelError; break;
    case HR_ERR_UNSUPPORTED:
    case HR_ERR_NO_DEVICE:
    case HR_ERR_CUDA: type = DeviceError; break;
    default: break;
    }
    for (int k = 0; ep && k < ep->n; k++)
        if (st == HR_ERR_IO || strstr(msg, ep->origin[k])) type = LLMError;
    return raise_with_status(type, st, msg);
}

static PyObject *input_error(const char *fmt, ...)
{
    char msg[ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return raise_with_status(InputError, HR_ERR_INPUT, msg);
}

/* PyErr_Fetch / PyErr_Restore are the limited API's way before 3.12. */
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
static void fetch_error(PyObject **t, PyObject **v, PyObject **tb) { PyErr_Fetch(t, v, tb); }
static void restore_error(PyObject *t, PyObject *v, PyObject *tb) { PyErr_Restore(t, v, tb); }
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

/* ---- one library call: GIL released, events back into Python ---- */

typedef struct call {
    PyThreadState *ts;   /* while the library works */
    PyObject *progress;  /* callable(kind, text, done, total), or NULL; borrowed */
    PyObject *et, *ev, *etb; /* the first exception of a callback (or Ctrl-C) */
    int stop;
} call;

static void call_keep_error(call *c)
{
    if (!c->et) fetch_error(&c->et, &c->ev, &c->etb);
    else PyErr_Clear();
    c->stop = 1;
}

static void on_event(const hr_event *e, void *user)
{
    call *c = user;
    if (!c->progress || c->stop) return;
    PyEval_RestoreThread(c->ts);
    PyObject *r = PyObject_CallFunction(c->progress, "iznn", (int)e->kind, e->text,
                                        (Py_ssize_t)e->done, (Py_ssize_t)e->total);
    if (r) Py_DECREF(r);
    else call_keep_error(c);
    c->ts = PyEval_SaveThread();
}

/* The library asks between batches: a pending signal (Ctrl-C runs Python's
 * handler here, which raises KeyboardInterrupt) or a failed callback stops. */
static int on_cancel(void *user)
{
    call *c = user;
    if (!c->stop) {
        PyEval_RestoreThread(c->ts);
        if (PyErr_CheckSignals() < 0) call_keep_error(c);
        c->ts = PyEval_SaveThread();
    }
    return c->stop;
}

static void call_init(call *c, PyObject *progress)
{
    memset(c, 0, sizeof *c);
    c->progress = progress && progress != Py_None ? progress : NULL;
}

static hr_events call_events(call *c)
{
    hr_events ev = {on_event, c, on_cancel};
    return ev;
}

/* After the call (GIL held again): the callback's exception, or the
 * library's status as one. Returns 0 when there is none, else -1. */
static int call_finish(call *c, hr_status st, const char *err, const endpoints *ep)
{
    if (c->et) {
        restore_error(c->et, c->ev, c->etb);
        return -1;
    }
    if (st == HR_ERR_CANCELLED) {
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        return -1;
    }
    if (st != HR_OK) {
        raise_status(st, err, ep);
        return -1;
    }
    return 0;
}

static PyObject *alloc_object(PyTypeObject *tp)
{
    allocfunc alloc = (allocfunc)PyType_GetSlot(tp, Py_tp_alloc);
    return alloc(tp, 0);
}

static void free_object(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    freefunc f = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    f(self);
    Py_DECREF(tp);
}

/* ---- options from a dict (the package builds it) ---- */

typedef struct opts {
    PyObject *d;       /* borrowed */
    Py_ssize_t used;   /* keys read */
    int failed;
} opts;

static PyObject *opt_get(opts *o, const char *key)
{
    PyObject *v = PyDict_GetItemString(o->d, key);
    if (!v) return NULL;
    o->used++;
    return v == Py_None ? NULL : v;
}

/* A str option: the dict's own UTF-8, valid while the dict lives. */
static const char *opt_str(opts *o, const char *key, const char *dflt)
{
    PyObject *v = opt_get(o, key);
    if (!v) return dflt;
    const char *s = PyUnicode_Check(v) ? PyUnicode_AsUTF8AndSize(v, NULL) : NULL;
    if (!s && !o->failed) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "option %s must be a str", key);
        o->failed = 1;
    }
    return s ? s : dflt;
}

static double opt_double(opts *o, const char *key, double dflt)
{
    PyObject *v = opt_get(o, key);
    if (!v) return dflt;
    double x = PyFloat_AsDouble(v);
    if (x == -1.0 && PyErr_Occurred()) o->failed = 1;
    return x;
}

static long long opt_int(opts *o, const char *key, long long dflt)
{
    PyObject *v = opt_get(o, key);
    if (!v) return dflt;
    long long x = PyLong_AsLongLong(v);
    if (x == -1 && PyErr_Occurred()) o->failed = 1;
    return x;
}

/* A count: a non-negative int. */
static size_t opt_size(opts *o, const char *key, size_t dflt)
{
    long long x = opt_int(o, key, (long long)dflt);
    if (x < 0 && !o->failed) {
        input_error("%s must be at least 0, not %lld", key, x);
        o->failed = 1;
    }
    return x < 0 ? dflt : (size_t)x;
}

static int opt_bool(opts *o, const char *key, int dflt)
{
    PyObject *v = opt_get(o, key);
    if (!v) return dflt;
    int x = PyObject_IsTrue(v);
    if (x < 0) o->failed = 1;
    return x > 0;
}

static hr_device opt_device(opts *o, const char *key)
{
    const char *s = opt_str(o, key, "auto");
    hr_device d = HR_DEVICE_AUTO;
    if (!o->failed && hr_device_parse(s, &d) != 0) {
        input_error("device must be 'cpu', 'cuda' or 'auto', not '%s'", s);
        o->failed = 1;
    }
    return d;
}

static hr_score_method opt_method(opts *o, const char *key, hr_score_method dflt)
{
    const char *s = opt_str(o, key, NULL);
    hr_score_method m = dflt;
    if (s && !o->failed && hr_score_method_parse(s, &m) != 0) {
        input_error("method must be 'contrast', 'cosine' or 'centered', not '%s'", s);
        o->failed = 1;
    }
    return m;
}

/* 0 when every key was read and all were good; else -1 with an exception. */
static int opts_done(opts *o)
{
    if (o->failed) return -1;
    if (o->used != PyDict_Size(o->d)) {
        PyErr_SetString(PyExc_TypeError, "unknown option (the package and the module disagree)");
        return -1;
    }
    return 0;
}

static int opts_begin(opts *o, PyObject *d)
{
    memset(o, 0, sizeof *o);
    o->d = d;
    if (!PyDict_Check(d)) {
        PyErr_SetString(PyExc_TypeError, "options must be a dict");
        return -1;
    }
    return 0;
}

/* ---- texts ---- */

/* The texts of a sequence of str as the library takes them: pointers to the
 * strs' UTF-8 (no copy for ASCII; CPython caches it for the others), which
 * items (a tuple, so nobody swaps them out) keeps alive. */
typedef struct texts {
    PyObject *items;
    size_t n;
    char **ptr;   /* (n) */
    size_t *len;  /* (n) */
} texts;

static void texts_free(texts *t)
{
    Py_CLEAR(t->items);
    free(t->ptr), free(t->len);
    t->ptr = NULL, t->len = NULL;
}

static int texts_from(PyObject *seq, const char *what, texts *t)
{
    memset(t, 0, sizeof *t);
    if (PyUnicode_Check(seq) || PyBytes_Check(seq)) {
        input_error("%s: give a list of texts, not one string", what);
        return -1;
    }
    if (!(t->items = PySequence_Tuple(seq))) return -1;
    Py_ssize_t n = PyTuple_Size(t->items);
    t->n = (size_t)n;
    t->ptr = malloc((n ? (size_t)n : 1) * sizeof *t->ptr);
    t->len = malloc((n ? (size_t)n : 1) * sizeof *t->len);
    if (!t->ptr || !t->len) {
        texts_free(t);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyTuple_GetItem(t->items, i);
        if (!PyUnicode_Check(s)) {
            PyObject *tn = PyType_GetName(Py_TYPE(s));
            input_error("%s[%zd] is %s, not a str", what, i,
                        tn ? PyUnicode_AsUTF8AndSize(tn, NULL) : "not a str");
            Py_XDECREF(tn);
            texts_free(t);
            return -1;
        }
        Py_ssize_t len;
        const char *u = PyUnicode_AsUTF8AndSize(s, &len);
        if (!u) { /* lone surrogates */
            PyErr_Clear();
            input_error("%s[%zd] is not valid Unicode (it holds a lone surrogate)", what, i);
            texts_free(t);
            return -1;
        }
        if (memchr(u, '\0', (size_t)len)) {
            input_error("%s[%zd] holds a NUL character, which no text may", what, i);
            texts_free(t);
            return -1;
        }
        t->ptr[i] = (char *)u; /* the library only reads it */
        t->len[i] = (size_t)len;
    }
    return 0;
}

/* ---- Matrix: the library's float32 matrix, lent to Python ---- */

typedef struct {
    PyObject_HEAD
    float *data;            /* (rows, cols) row-major, malloc'ed by the library */
    Py_ssize_t shape[2], strides[2];
} MatrixObject;

static PyObject *matrix_new(float *data, size_t rows, size_t cols)
{
    MatrixObject *m = (MatrixObject *)alloc_object(MatrixType);
    if (!m) {
        free(data);
        return NULL;
    }
    m->data = data;
    m->shape[0] = (Py_ssize_t)rows, m->shape[1] = (Py_ssize_t)cols;
    m->strides[0] = (Py_ssize_t)(cols * sizeof(float)), m->strides[1] = sizeof(float);
    return (PyObject *)m;
}

static void matrix_dealloc(PyObject *self)
{
    free(((MatrixObject *)self)->data);
    free_object(self);
}

static int matrix_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    MatrixObject *m = (MatrixObject *)self;
    view->obj = Py_NewRef(self);
    view->buf = m->data;
    view->len = m->shape[0] * m->shape[1] * (Py_ssize_t)sizeof(float);
    view->readonly = 0;
    view->itemsize = sizeof(float);
    view->format = (flags & PyBUF_FORMAT) ? (char *)"f" : NULL;
    view->ndim = 2;
    view->shape = (flags & PyBUF_ND) ? m->shape : NULL;
    view->strides = (flags & PyBUF_STRIDES) ? m->strides : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static PyObject *matrix_address(PyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromVoidPtr(((MatrixObject *)self)->data);
}

static PyObject *matrix_shape(PyObject *self, void *closure)
{
    (void)closure;
    MatrixObject *m = (MatrixObject *)self;
    return Py_BuildValue("(nn)", m->shape[0], m->shape[1]);
}

static PyGetSetDef matrix_getset[] = {
    {"address", matrix_address, NULL, "Where the library's memory is (for tests).", NULL},
    {"shape", matrix_shape, NULL, "(rows, cols).", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyType_Slot matrix_slots[] = {
    {Py_tp_dealloc, (void *)matrix_dealloc},
    {Py_bf_getbuffer, (void *)matrix_getbuffer},
    {Py_tp_getset, matrix_getset},
    {Py_tp_doc, (void *)"A float32 matrix the library allocated; numpy.asarray() views it "
                        "without a copy and the memory is freed with the last view."},
    {0, NULL}};

static PyType_Spec matrix_spec = {"hyporank._hyporank.Matrix", sizeof(MatrixObject), 0,
                                  Py_TPFLAGS_DEFAULT, matrix_slots};

/* An embedding matrix coming in: C-contiguous float32 (rows, cols), taken
 * where it lies. On success the caller releases view. */
static int matrix_view(PyObject *obj, const char *what, int writable, Py_buffer *view)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        PyObject *t, *v, *tb;
        fetch_error(&t, &v, &tb);
        PyObject *s = v ? PyObject_Str(v) : NULL;
        input_error("%s must be a C-contiguous%s float32 array of shape (n, d) (%s); "
                    "numpy.ascontiguousarray(x, dtype=numpy.float32) makes one",
                    what, writable ? ", writable" : "",
                    s ? PyUnicode_AsUTF8AndSize(s, NULL) : "no buffer");
        Py_XDECREF(s), Py_XDECREF(t), Py_XDECREF(v), Py_XDECREF(tb);
        return -1;
    }
    const char *f = view->format ? view->format : "B";
    const int is_f32 = view->itemsize == 4 && (strcmp(f, "f") == 0 || strcmp(f, "<f") == 0 ||
                                               strcmp(f, "=f") == 0 || strcmp(f, "@f") == 0);
    if (!is_f32 || view->ndim != 2) {
        input_error("%s must be a float32 array of shape (n, d), not %d-dimensional of format "
                    "'%s' (numpy.ascontiguousarray(x, dtype=numpy.float32) converts, with a copy)",
                    what, view->ndim, f);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *buffer_address(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *obj;
    int writable = 0;
    if (!PyArg_ParseTuple(args, "O|p", &obj, &writable)) return NULL;
    Py_buffer v;
    if (matrix_view(obj, "the array", writable, &v) < 0) return NULL;
    PyObject *r = Py_BuildValue("(Nnn)", PyLong_FromVoidPtr(v.buf), v.shape[0], v.shape[1]);
    PyBuffer_Release(&v);
    return r;
}

/* ---- Corpus ---- */

typedef struct {
    PyObject_HEAD
    texts t;
    PyObject *keep;          /* tuple: the label and score values (their strs) */
    hr_corpus c;             /* c.texts, c.lens: t's; lines: position + 1 */
    char *name;
} CorpusObject;

static void corpus_dealloc(PyObject *self)
{
    CorpusObject *o = (CorpusObject *)self;
    texts_free(&o->t);
    Py_CLEAR(o->keep);
    free(o->c.lines);
    free(o->c.fields);
    free(o->name);
    free_object(self);
}

/* One label or score value as a corpus field (what a JSONL object would hold). */
static int field_from(PyObject *v, const char *what, Py_ssize_t i, hr_corpus_field *f)
{
    memset(f, 0, sizeof *f);
    if (v == Py_None) {
        f->type = HR_FIELD_NULL;
    } else if (PyBool_Check(v)) {
        f->type = v == Py_True ? HR_FIELD_TRUE : HR_FIELD_FALSE;
    } else if (PyLong_Check(v) || PyFloat_Check(v)) {
        double x = PyFloat_AsDouble(v);
        if (x == -1.0 && PyErr_Occurred()) return -1;
        f->type = isfinite(x) ? HR_FIELD_NUMBER : HR_FIELD_NULL; /* NaN: no value */
        f->number = isfinite(x) ? x : 0;
    } else if (PyUnicode_Check(v)) {
        Py_ssize_t len;
        f->text = PyUnicode_AsUTF8AndSize(v, &len);
        if (!f->text) return -1;
        f->type = HR_FIELD_STRING;
        f->len = (size_t)len;
    } else {
        PyObject *tn = PyType_GetName(Py_TYPE(v));
        input_error("%s[%zd] is %s: give numbers, strings or booleans", what, i,
                    tn ? PyUnicode_AsUTF8AndSize(tn, NULL) : "of another type");
        Py_XDECREF(tn);
        return -1;
    }
    return 0;
}

static int corpus_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"texts", "name", "labels", "scores", NULL};
    CorpusObject *o = (CorpusObject *)self;
    PyObject *seq, *labels = Py_None, *scores = Py_None;
    const char *name;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Os|OO", kwlist, &seq, &name, &labels, &scores))
        return -1;
    if (o->name) {
        PyErr_SetString(PyExc_RuntimeError, "Corpus is initialised once");
        return -1;
    }
    if (texts_from(seq, name, &o->t) < 0) return -1;
    const size_t n = o->t.n;
    PyObject *cols[2] = {labels != Py_None ? labels : NULL, scores != Py_None ? scores : NULL};
    const char *col_names[2] = {"labels", "scores"};
    if (!cols[0] && cols[1]) {
        PyErr_SetString(PyExc_TypeError, "scores need labels (field 1 follows field 0)");
        return -1;
    }
    const size_t n_fields = (size_t)(cols[0] != NULL) + (size_t)(cols[1] != NULL);
    o->name = strdup(name);
    o->c.lines = malloc((n ? n : 1) * sizeof *o->c.lines);
    o->c.fields = n_fields ? calloc(n * n_fields + 1, sizeof *o->c.fields) : NULL;
    PyObject *kept[2] = {NULL, NULL};
    if (!o->name || !o->c.lines || (n_fields && !o->c.fields)) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < n; i++) o->c.lines[i] = i + 1;
    for (size_t j = 0; j < n_fields; j++) {
        if (!(kept[j] = PySequence_Tuple(cols[j]))) goto fail;
        if ((size_t)PyTuple_Size(kept[j]) != n) {
            input_error("%s has %zd values for %zu texts: one per text", col_names[j],
                        PyTuple_Size(kept[j]), n);
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            if (field_from(PyTuple_GetItem(kept[j], (Py_ssize_t)i), col_names[j], (Py_ssize_t)i,
                           &o->c.fields[i * n_fields + j]) < 0)
                goto fail;
    }
    o->keep = Py_BuildValue("(OO)", kept[0] ? kept[0] : Py_None, kept[1] ? kept[1] : Py_None);
    Py_XDECREF(kept[0]), Py_XDECREF(kept[1]);
    if (!o->keep) return -1;
    o->c.n = n;
    o->c.texts = o->t.ptr;
    o->c.lens = o->t.len;
    o->c.path = o->name;
    o->c.n_fields = n_fields;
    return 0;
fail:
    Py_XDECREF(kept[0]), Py_XDECREF(kept[1]);
    return -1;
}

static Py_ssize_t corpus_len(PyObject *self) { return (Py_ssize_t)((CorpusObject *)self)->c.n; }

static PyType_Slot corpus_slots[] = {
    {Py_tp_dealloc, (void *)corpus_dealloc},
    {Py_tp_init, (void *)corpus_init},
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_sq_length, (void *)corpus_len},
    {Py_tp_doc, (void *)"Corpus(texts, name, labels=None, scores=None): texts lent to the "
                        "library without copying them (internal)."},
    {0, NULL}};

static PyType_Spec corpus_spec = {"hyporank._hyporank.Corpus", sizeof(CorpusObject), 0,
                                  Py_TPFLAGS_DEFAULT, corpus_slots};

/* A Corpus argument, or NULL for None; -1 for anything else. */
static int corpus_arg(PyObject *obj, const char *what, const hr_corpus **out)
{
    *out = NULL;
    if (obj == Py_None) return 0;
    if (!PyObject_TypeCheck(obj, CorpusType) || !((CorpusObject *)obj)->name) {
        PyErr_Format(PyExc_TypeError, "%s must be a Corpus", what);
        return -1;
    }
    *out = &((CorpusObject *)obj)->c;
    return 0;
}

/* ---- Embedder ---- */

typedef struct {
    PyObject_HEAD
    hr_embedder *e;
    PyThread_type_lock lock; /* one call at a time */
    endpoints ep;            /* the remote endpoint, if any */
} EmbedderObject;

static void embedder_dealloc(PyObject *self)
{
    EmbedderObject *o = (EmbedderObject *)self;
    hr_embedder_destroy(o->e);
    if (o->lock) PyThread_free_lock(o->lock);
    free_object(self);
}

static int embedder_init(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"model_dir", "device", "threads", "url", "model", "cache",
                             "no_cache", NULL};
    EmbedderObject *o = (EmbedderObject *)self;
    const char *model_dir = NULL, *device = "auto", *url = NULL, *model = NULL, *cache = NULL;
    int threads = 0, no_cache = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|zsizzzp", kwlist, &model_dir, &device, &threads,
                                     &url, &model, &cache, &no_cache))
        return -1;
    if (o->e) {
        PyErr_SetString(PyExc_RuntimeError, "Embedder is initialised once");
        return -1;
    }
    hr_embedder_options eo;
    hr_embedder_options_init(&eo);
    if (hr_device_parse(device, &eo.device) != 0) {
        input_error("device must be 'cpu', 'cuda' or 'auto', not '%s'", device);
        return -1;
    }
    eo.model_dir = model_dir;
    eo.n_threads = threads;
    eo.url = url;
    eo.model = model;
    eo.cache_path = cache;
    eo.no_cache = no_cache;
    if (!(o->lock = PyThread_allocate_lock())) {
        PyErr_NoMemory();
        return -1;
    }
    endpoints_add(&o->ep, url);
    char err[ERR_LEN] = "";
    hr_status st = hr_embedder_create(&eo, &o->e, err, sizeof err);
    if (st != HR_OK) {
        raise_status(st, err, NULL);
        return -1;
    }
    return 0;
}

static int embedder_ready(EmbedderObject *o)
{
    if (o->e) return 0;
    PyErr_SetString(PyExc_RuntimeError, "Embedder is not initialised");
    return -1;
}

/* Takes the embedder's lock (the GIL released). */
static void embedder_lock(EmbedderObject *o)
{
    if (o && !PyThread_acquire_lock(o->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(o->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
}

static void embedder_unlock(EmbedderObject *o)
{
    if (o) PyThread_release_lock(o->lock);
}

static PyObject *embedder_load(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    EmbedderObject *o = (EmbedderObject *)self;
    if (embedder_ready(o) < 0) return NULL;
    char err[ERR_LEN] = "";
    hr_status st;
    embedder_lock(o);
    Py_BEGIN_ALLOW_THREADS
    st = hr_embedder_load(o->e, err, sizeof err);
    Py_END_ALLOW_THREADS
    embedder_unlock(o);
    if (st != HR_OK) return raise_status(st, err, &o->ep);
    Py_RETURN_NONE;
}

/* embed(texts, out=None, progress=None, label="embedding"): a Matrix, or out
 * filled in place (a writable C-contiguous float32 (n, dim) buffer). */
static PyObject *embedder_embed(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"texts", "out", "progress", "label", NULL};
    EmbedderObject *o = (EmbedderObject *)self;
    PyObject *seq, *out = Py_None, *progress = Py_None;
    const char *label = "embedding";
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OOs", kwlist, &seq, &out, &progress, &label))
        return NULL;
    if (embedder_ready(o) < 0) return NULL;
    texts t;
    if (texts_from(seq, "texts", &t) < 0) return NULL;
    Py_buffer view;
    const int into = out != Py_None;
    if (into && matrix_view(out, "out", 1, &view) < 0) {
        texts_free(&t);
        return NULL;
    }
    char err[ERR_LEN] = "";
    float *emb = NULL;
    call c;
    call_init(&c, progress);
    hr_events ev = call_events(&c);
    hr_status st = HR_OK;
    size_t dim = 0;
    embedder_lock(o);
    c.ts = PyEval_SaveThread();
    if (into) {
        st = hr_embedder_load(o->e, err, sizeof err);
        dim = hr_embedder_dim(o->e);
        if (st == HR_OK && dim == 0) /* a remote endpoint tells its width on its first call */
            st = HR_ERR_INPUT, snprintf(err, sizeof err,
                                        "out=: the endpoint's width is not known before its "
                                        "first call; embed without out= once");
        else if (st == HR_OK && ((size_t)view.shape[0] != t.n || (size_t)view.shape[1] != dim))
            st = HR_ERR_INPUT, snprintf(err, sizeof err,
                                        "out has shape (%zd, %zd) but the embeddings of %zu "
                                        "texts are (%zu, %zu)",
                                        view.shape[0], view.shape[1], t.n, t.n, dim);
        if (st == HR_OK)
            st = hr_embedder_embed_into(o->e, (const char *const *)t.ptr, t.len, t.n, label, &ev,
                                        view.buf, err, sizeof err);
    } else {
        st = hr_embedder_embed(o->e, (const char *const *)t.ptr, t.len, t.n, label, &ev, &emb,
                               err, sizeof err);
        dim = hr_embedder_dim(o->e);
    }
    PyEval_RestoreThread(c.ts);
    embedder_unlock(o);
    const size_t n = t.n;
    texts_free(&t);
    if (into) PyBuffer_Release(&view);
    if (call_finish(&c, st, err, &o->ep) < 0) {
        free(emb);
        return NULL;
    }
    if (into) return Py_NewRef(out);
    return matrix_new(emb, n, dim);
}

static PyObject *str_or_none(const char *s)
{
    if (s) return PyUnicode_FromString(s);
    Py_RETURN_NONE;
}

static PyObject *embedder_info(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    EmbedderObject *o = (EmbedderObject *)self;
    if (embedder_ready(o) < 0) return NULL;
    hr_embed_stats s = hr_embedder_last_stats(o->e);
    return Py_BuildValue("{s:n,s:N,s:N,s:N,s:N,s:n,s:n}", "dim", (Py_ssize_t)hr_embedder_dim(o->e),
                         "model", str_or_none(hr_embedder_model(o->e)), "model_id",
                         str_or_none(hr_embedder_model_id(o->e)), "device",
                         str_or_none(hr_embedder_device(o->e)), "cache_path",
                         str_or_none(hr_embedder_cache_path(o->e)), "computed",
                         (Py_ssize_t)s.computed, "from_cache", (Py_ssize_t)s.from_cache);
}

static PyMethodDef embedder_methods[] = {
    {"load", embedder_load, METH_NOARGS, "Loads the model (or opens the remote client) now."},
    {"embed", (PyCFunction)(void (*)(void))embedder_embed, METH_VARARGS | METH_KEYWORDS,
     "embed(texts, out=None, progress=None, label='embedding') -> Matrix or out"},
    {"info", embedder_info, METH_NOARGS,
     "dim, model, model_id, device, cache_path, and what the last call computed."},
    {NULL, NULL, 0, NULL}};

static PyType_Slot embedder_slots[] = {
    {Py_tp_dealloc, (void *)embedder_dealloc},
    {Py_tp_init, (void *)embedder_init},
    {Py_tp_new, (void *)PyType_GenericNew},
    {Py_tp_methods, embedder_methods},
    {Py_tp_doc, (void *)"Embedder(model_dir=None, device='auto', threads=0, url=None, "
                        "model=None, cache=None, no_cache=False): libhyporank's hr_embedder "
                        "(internal; hyporank.Embedder wraps it)."},
    {0, NULL}};

static PyType_Spec embedder_spec = {"hyporank._hyporank.Embedder", sizeof(EmbedderObject), 0,
                                    Py_TPFLAGS_DEFAULT, embedder_slots};

static int embedder_arg(PyObject *obj, int required, EmbedderObject **out)
{
    *out = NULL;
    if (obj == Py_None && !required) return 0;
    if (!PyObject_TypeCheck(obj, EmbedderType)) {
        PyErr_SetString(PyExc_TypeError, "embedder must be an Embedder");
        return -1;
    }
    *out = (EmbedderObject *)obj;
    return embedder_ready(*out);
}

/* ---- rendering into a str ---- */

typedef hr_status (*render_fn)(FILE *f, const void *report);

static PyObject *render(render_fn fn, const void *report)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return PyErr_NoMemory();
    hr_status st = fn(f, report);
    if (fclose(f) != 0 && st == HR_OK) st = HR_ERR_IO;
    PyObject *s = st == HR_OK ? PyUnicode_DecodeUTF8(buf ? buf : "", (Py_ssize_t)len, "replace")
                              : raise_status(st, NULL, NULL);
    free(buf);
    return s;
}

static PyObject *json_str(char *json)
{
    if (!json) return PyErr_NoMemory();
    PyObject *s = PyUnicode_DecodeUTF8(json, (Py_ssize_t)strlen(json), "replace");
    free(json);
    return s;
}

/* ---- Report: an hr_report (rank, describe) or an hr_explain_report ---- */

typedef struct {
    PyObject_HEAD
    hr_report *r;            /* one of the two */
    hr_explain_report *x;
    PyObject *refs;          /* what its texts point into */
} ReportObject;

static void report_dealloc(PyObject *self)
{
    ReportObject *o = (ReportObject *)self;
    hr_report_destroy(o->r);
    hr_explain_report_destroy(o->x);
    Py_CLEAR(o->refs);
    free_object(self);
}

/* Takes r or x, and refs (a new reference). */
static PyObject *report_new(hr_report *r, hr_explain_report *x, PyObject *refs)
{
    ReportObject *o = refs ? (ReportObject *)alloc_object(ReportType) : NULL;
    if (!o) {
        hr_report_destroy(r);
        hr_explain_report_destroy(x);
        Py_XDECREF(refs);
        return NULL;
    }
    o->r = r, o->x = x;
    o->refs = refs;
    return (PyObject *)o;
}

static PyObject *report_json(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    const ReportObject *o = (const ReportObject *)self;
    return json_str(o->r ? hr_report_json(o->r) : hr_explain_report_json(o->x));
}

static hr_status write_table(FILE *f, const void *r) { return hr_report_write_table(f, r); }
static hr_status write_markdown(FILE *f, const void *r) { return hr_report_write_markdown(f, r); }
static hr_status write_explain_table(FILE *f, const void *r)
{
    return hr_explain_report_write_table(f, r);
}

static PyObject *report_table(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    const ReportObject *o = (const ReportObject *)self;
    return o->r ? render(write_table, o->r) : render(write_explain_table, o->x);
}

static PyObject *report_markdown(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    const ReportObject *o = (const ReportObject *)self;
    if (!o->r) return raise_status(HR_ERR_UNSUPPORTED, "an explain report has no Markdown", NULL);
    return render(write_markdown, o->r);
}

/* The page's options, borrowed for one render. */
typedef struct html_job {
    const ReportObject *o;
    hr_html_options ho;
} html_job;

static hr_status write_html(FILE *f, const void *ctx)
{
    const html_job *j = ctx;
    return j->o->r ? hr_report_write_html(f, j->o->r, &j->ho)
                   : hr_explain_report_write_html(f, j->o->x, &j->ho);
}

/* html(title, a_name, b_name): each str or None (the library's default). */
static PyObject *report_html(PyObject *self, PyObject *args)
{
    html_job j = {(const ReportObject *)self, {0}};
    hr_html_options_init(&j.ho);
    if (!PyArg_ParseTuple(args, "zzz", &j.ho.title, &j.ho.a_name, &j.ho.b_name)) return NULL;
    j.ho.generator = "hyporank " HR_VERSION " (Python)";
    return render(write_html, &j);
}

static PyObject *report_kind(PyObject *self, PyObject *noargs)
{
    (void)noargs;
    const ReportObject *o = (const ReportObject *)self;
    if (!o->r) return PyUnicode_FromString("explain");
    const hr_report_info *in = hr_report_get_info(o->r);
    return PyUnicode_FromString(in->kind == HR_REPORT_RANK ? "rank" : "describe");
}

static PyMethodDef report_methods[] = {
    {"json", report_json, METH_NOARGS, "The JSON document (the program's --json)."},
    {"table", report_table, METH_NOARGS, "The terminal table the program prints."},
    {"markdown", report_markdown, METH_NOARGS, "The Markdown report (describe)."},
    {"html", report_html, METH_VARARGS, "The self-contained HTML page (the program's --html)."},
    {"kind", report_kind, METH_NOARGS, "'rank', 'describe' or 'explain'."},
    {NULL, NULL, 0, NULL}};

static PyType_Slot report_slots[] = {
    {Py_tp_dealloc, (void *)report_dealloc},
    {Py_tp_methods, report_methods},
    {Py_tp_doc, (void *)"libhyporank's hr_report or hr_explain_report (internal; "
                        "hyporank.Report and hyporank.ExplainReport wrap it)."},
    {0, NULL}};

static PyType_Spec report_spec = {"hyporank._hyporank.Report", sizeof(ReportObject), 0,
                                  Py_TPFLAGS_DEFAULT, report_slots};

/* ---- the pipelines ---- */

/* rank(opts, a, b, h, a_emb, b_emb, h_emb, embedder, progress) -> Report */
static PyObject *py_rank(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *d, *ca, *cb, *ch, *emb_obj[3], *eobj, *progress;
    if (!PyArg_ParseTuple(args, "OOOOOOOOO", &d, &ca, &cb, &ch, &emb_obj[0], &emb_obj[1],
                          &emb_obj[2], &eobj, &progress))
        return NULL;
    hr_rank_options ro;
    hr_rank_options_init(&ro);
    EmbedderObject *eo;
    opts o;
    if (opts_begin(&o, d) < 0 || corpus_arg(ca, "a", &ro.corpus_a) < 0 ||
        corpus_arg(cb, "b", &ro.corpus_b) < 0 || corpus_arg(ch, "hypotheses", &ro.corpus_h) < 0 ||
        embedder_arg(eobj, 0, &eo) < 0)
        return NULL;
    ro.a_path = opt_str(&o, "a_path", NULL);
    ro.b_path = opt_str(&o, "b_path", NULL);
    ro.hypotheses_path = opt_str(&o, "hypotheses_path", NULL);
    ro.a_emb_path = opt_str(&o, "a_emb_path", NULL);
    ro.b_emb_path = opt_str(&o, "b_emb_path", NULL);
    ro.h_emb_path = opt_str(&o, "h_emb_path", NULL);
    ro.text_field = opt_str(&o, "text_field", NULL);
    ro.hypothesis_field = opt_str(&o, "hypothesis_field", NULL);
    ro.top = opt_size(&o, "top", ro.top);
    ro.alpha = opt_double(&o, "alpha", ro.alpha);
    ro.scorer.method = opt_method(&o, "method", ro.scorer.method);
    ro.scorer.temperature = opt_double(&o, "temperature", ro.scorer.temperature);
    ro.scorer.device = opt_device(&o, "device");
    ro.scorer.n_threads = (int)opt_int(&o, "threads", 0);
    ro.scorer.memory_bytes = opt_size(&o, "memory_mb", ro.scorer.memory_bytes >> 20) << 20;
    if (opts_done(&o) < 0) return NULL;

    /* The matrices, where they lie. */
    static const char *const names[3] = {"a_emb", "b_emb", "h_emb"};
    hr_matrix_ref *refs[3] = {&ro.a_emb, &ro.b_emb, &ro.h_emb};
    Py_buffer view[3];
    int have[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (emb_obj[k] == Py_None) continue;
        if (matrix_view(emb_obj[k], names[k], 0, &view[k]) < 0) {
            for (int j = 0; j < k; j++)
                if (have[j]) PyBuffer_Release(&view[j]);
            return NULL;
        }
        have[k] = 1;
        *refs[k] = (hr_matrix_ref){view[k].buf, (size_t)view[k].shape[0], (size_t)view[k].shape[1],
                                   names[k]};
    }
    call c;
    call_init(&c, progress);
    ro.events = call_events(&c);
    char err[ERR_LEN] = "";
    hr_report *r = NULL;
    if (hr_rank_needs_embedder(&ro) && !eo) {
        for (int k = 0; k < 3; k++)
            if (have[k]) PyBuffer_Release(&view[k]);
        PyErr_SetString(PyExc_TypeError, "rank: texts to embed need an embedder");
        return NULL;
    }
    embedder_lock(eo);
    c.ts = PyEval_SaveThread();
    hr_status st = hr_rank_run(&ro, eo ? eo->e : NULL, &r, err, sizeof err);
    PyEval_RestoreThread(c.ts);
    embedder_unlock(eo);
    for (int k = 0; k < 3; k++)
        if (have[k]) PyBuffer_Release(&view[k]);
    if (call_finish(&c, st, err, eo ? &eo->ep : NULL) < 0) {
        hr_report_destroy(r);
        return NULL;
    }
    return report_new(r, NULL, Py_BuildValue("(OOO)", ca, cb, ch));
}

/* describe(opts, a, b, embedder, progress) -> Report */
static PyObject *py_describe(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *d, *ca, *cb, *eobj, *progress;
    if (!PyArg_ParseTuple(args, "OOOOO", &d, &ca, &cb, &eobj, &progress)) return NULL;
    hr_describe_options dop;
    hr_describe_options_init(&dop);
    EmbedderObject *eo;
    opts o;
    if (opts_begin(&o, d) < 0 || corpus_arg(ca, "a", &dop.corpus_a) < 0 ||
        corpus_arg(cb, "b", &dop.corpus_b) < 0 || embedder_arg(eobj, 1, &eo) < 0)
        return NULL;
    dop.a_path = opt_str(&o, "a_path", NULL);
    dop.b_path = opt_str(&o, "b_path", NULL);
    dop.text_field = opt_str(&o, "text_field", NULL);
    dop.goal = opt_str(&o, "goal", NULL);
    dop.hypotheses_path = opt_str(&o, "hypotheses_path", NULL);
    dop.bank = opt_bool(&o, "bank", dop.bank);
    dop.ngrams = opt_bool(&o, "ngrams", dop.ngrams);
    dop.clusters = opt_bool(&o, "clusters", dop.clusters);
    dop.ngrams_per_side = opt_size(&o, "ngrams_per_side", dop.ngrams_per_side);
    dop.holdout = opt_double(&o, "holdout", dop.holdout);
    dop.seed = (uint64_t)opt_size(&o, "seed", (size_t)dop.seed);
    dop.llm_url = opt_str(&o, "llm_url", NULL);
    dop.llm_model = opt_str(&o, "llm_model", NULL);
    dop.llm_rounds = (int)opt_int(&o, "llm_rounds", dop.llm_rounds);
    dop.llm_samples = (int)opt_int(&o, "llm_samples", dop.llm_samples);
    dop.description = opt_str(&o, "description", NULL);
    dop.verify_top = opt_size(&o, "verify_top", dop.verify_top);
    dop.verify_samples = opt_size(&o, "verify_samples", dop.verify_samples);
    dop.verify_max_samples = opt_size(&o, "verify_max_samples", dop.verify_max_samples);
    dop.llm_timeout_s = opt_double(&o, "llm_timeout", dop.llm_timeout_s);
    dop.llm_deadline_s = opt_double(&o, "llm_deadline", dop.llm_deadline_s);
    dop.max_requests = opt_size(&o, "max_requests", dop.max_requests);
    dop.budget_usd = opt_double(&o, "budget_usd", dop.budget_usd);
    dop.price_prompt = opt_double(&o, "price_prompt", dop.price_prompt);
    dop.price_completion = opt_double(&o, "price_completion", dop.price_completion);
    dop.llm_context = opt_size(&o, "llm_context", dop.llm_context);
    dop.llm_concurrency = (int)opt_int(&o, "llm_concurrency", dop.llm_concurrency);
    dop.top = opt_size(&o, "top", dop.top);
    dop.examples = opt_size(&o, "examples", dop.examples);
    dop.alpha = opt_double(&o, "alpha", dop.alpha);
    dop.scorer.method = opt_method(&o, "method", dop.scorer.method);
    dop.scorer.temperature = opt_double(&o, "temperature", dop.scorer.temperature);
    dop.device = opt_device(&o, "device");
    dop.n_threads = (int)opt_int(&o, "threads", 0);
    if (opts_done(&o) < 0) return NULL;
    endpoints ep = eo->ep;
    endpoints_add(&ep, dop.llm_url);
    call c;
    call_init(&c, progress);
    dop.events = call_events(&c);
    char err[ERR_LEN] = "";
    hr_report *r = NULL;
    embedder_lock(eo);
    c.ts = PyEval_SaveThread();
    hr_status st = hr_describe_run(&dop, eo->e, &r, err, sizeof err);
    PyEval_RestoreThread(c.ts);
    embedder_unlock(eo);
    if (call_finish(&c, st, err, &ep) < 0) {
        hr_report_destroy(r);
        return NULL;
    }
    return report_new(r, NULL, Py_BuildValue("(OO)", ca, cb));
}

/* explain(opts, corpus, embedder, progress) -> Report (of an explain run) */
static PyObject *py_explain(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *d, *cobj, *eobj, *progress;
    if (!PyArg_ParseTuple(args, "OOOO", &d, &cobj, &eobj, &progress)) return NULL;
    hr_explain_run_options xo;
    hr_explain_run_options_init(&xo);
    EmbedderObject *eo;
    opts o;
    if (opts_begin(&o, d) < 0 || corpus_arg(cobj, "texts", &xo.corpus) < 0 ||
        embedder_arg(eobj, 1, &eo) < 0)
        return NULL;
    xo.data_path = opt_str(&o, "data_path", NULL);
    xo.label_field = opt_str(&o, "label_field", NULL);
    xo.positive = opt_str(&o, "positive", NULL);
    xo.score_field = opt_str(&o, "score_field", NULL);
    xo.a_path = opt_str(&o, "a_path", NULL);
    xo.b_path = opt_str(&o, "b_path", NULL);
    xo.text_field = opt_str(&o, "text_field", NULL);
    xo.continuous = opt_bool(&o, "continuous", 0);
    xo.hypotheses_path = opt_str(&o, "hypotheses_path", NULL);
    xo.bank = opt_bool(&o, "bank", xo.bank);
    xo.ngrams = opt_bool(&o, "ngrams", xo.ngrams);
    xo.ngrams_per_side = opt_size(&o, "ngrams_per_side", xo.ngrams_per_side);
    xo.holdout = opt_double(&o, "holdout", xo.holdout);
    xo.rounds = opt_size(&o, "rounds", xo.rounds);
    xo.top_k = opt_size(&o, "top_k", xo.top_k);
    xo.candidates = opt_size(&o, "candidates", xo.candidates);
    xo.folds = opt_size(&o, "folds", xo.folds);
    xo.seed = (uint64_t)opt_size(&o, "seed", (size_t)xo.seed);
    xo.bootstrap = opt_size(&o, "bootstrap", xo.bootstrap);
    xo.examples = opt_size(&o, "examples", xo.examples);
    xo.method = opt_method(&o, "method", xo.method);
    xo.temperature = opt_double(&o, "temperature", xo.temperature);
    xo.device = opt_device(&o, "device");
    if (opts_done(&o) < 0) return NULL;
    call c;
    call_init(&c, progress);
    xo.events = call_events(&c);
    char err[ERR_LEN] = "";
    hr_explain_report *r = NULL;
    embedder_lock(eo);
    c.ts = PyEval_SaveThread();
    hr_status st = hr_explain_run(&xo, eo->e, &r, err, sizeof err);
    PyEval_RestoreThread(c.ts);
    embedder_unlock(eo);
    if (call_finish(&c, st, err, &eo->ep) < 0) {
        hr_explain_report_destroy(r);
        return NULL;
    }
    return report_new(NULL, r, Py_BuildValue("(O)", cobj));
}

static PyObject *py_device_usable(PyObject *mod, PyObject *args)
{
    (void)mod;
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name)) return NULL;
    hr_device dev;
    if (hr_device_parse(name, &dev) != 0 || dev == HR_DEVICE_AUTO)
        return input_error("device must be 'cpu' or 'cuda', not '%s'", name);
    const char *why = NULL;
    int ok;
    Py_BEGIN_ALLOW_THREADS
    ok = hr_device_usable(dev, &why);
    Py_END_ALLOW_THREADS
    return Py_BuildValue("(Nz)", PyBool_FromLong(ok), ok ? NULL : why);
}

static PyObject *py_blas_kernels(PyObject *mod, PyObject *noargs)
{
    (void)mod, (void)noargs;
    return str_or_none(hr_blas_corename());
}

static PyMethodDef module_methods[] = {
    {"blas_kernels", py_blas_kernels, METH_NOARGS,
     "The kernel set OpenBLAS runs ('SkylakeX', 'Haswell', 'Prescott', ...)."},
    {"rank", py_rank, METH_VARARGS,
     "rank(opts, a, b, h, a_emb, b_emb, h_emb, embedder, progress) -> Report"},
    {"describe", py_describe, METH_VARARGS, "describe(opts, a, b, embedder, progress) -> Report"},
    {"explain", py_explain, METH_VARARGS,
     "explain(opts, corpus, embedder, progress) -> Report"},
    {"device_usable", py_device_usable, METH_VARARGS,
     "device_usable('cpu' | 'cuda') -> (usable, why not)"},
    {"_buffer_address", buffer_address, METH_VARARGS,
     "_buffer_address(array, writable=False) -> (address, rows, cols): what the library is "
     "given for an embedding matrix (for tests)."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_hyporank",
                                        "libhyporank, as the hyporank package calls it.", -1,
                                        module_methods, NULL, NULL, NULL, NULL};

static int add_type(PyObject *m, PyType_Spec *spec, PyTypeObject **out, const char *name)
{
    *out = (PyTypeObject *)PyType_FromSpec(spec);
    if (!*out) return -1;
    return PyModule_AddObjectRef(m, name, (PyObject *)*out);
}

static int add_error(PyObject *m, PyObject **out, const char *name, const char *doc,
                     PyObject *base)
{
    char full[64];
    snprintf(full, sizeof full, "hyporank.%s", name);
    *out = PyErr_NewExceptionWithDoc(full, doc, base, NULL);
    if (!*out) return -1;
    return PyModule_AddObjectRef(m, name, *out);
}

PyMODINIT_FUNC PyInit__hyporank(void)
{
    PyObject *m = PyModule_Create(&module_def);
    if (!m) return NULL;
    PyObject *input_bases = NULL;
    if (add_error(m, &Error, "Error",
                  "An error of libhyporank; .status names the library's status "
                  "('input', 'io', 'model', ...).",
                  NULL) < 0 ||
        !(input_bases = Py_BuildValue("(OO)", Error, PyExc_ValueError)) ||
        add_error(m, &InputError, "InputError",
                  "Bad input: a text, an option, a file, a matrix (also a ValueError).",
                  input_bases) < 0 ||
        add_error(m, &ModelError, "ModelError",
                  "The model folder is missing, malformed or unsupported.", Error) < 0 ||
        add_error(m, &DeviceError, "DeviceError",
                  "The device asked for cannot be used (no GPU, a CUDA failure, a build "
                  "without CUDA).",
                  Error) < 0 ||
        add_error(m, &LLMError, "LLMError",
                  "An OpenAI-compatible endpoint (chat or embeddings) failed or cannot be "
                  "reached.",
                  Error) < 0 ||
        add_type(m, &matrix_spec, &MatrixType, "Matrix") < 0 ||
        add_type(m, &corpus_spec, &CorpusType, "Corpus") < 0 ||
        add_type(m, &embedder_spec, &EmbedderType, "Embedder") < 0 ||
        add_type(m, &report_spec, &ReportType, "Report") < 0 ||
        PyModule_AddStringConstant(m, "DEFAULT_MODEL_DIR", HR_DEFAULT_MODEL_DIR) < 0 ||
        PyModule_AddStringConstant(m, "VERSION", HR_VERSION) < 0 ||
#ifdef HR_HAVE_CUDA
        PyModule_AddIntConstant(m, "HAVE_CUDA", 1) < 0 ||
#else
        PyModule_AddIntConstant(m, "HAVE_CUDA", 0) < 0 ||
#endif
        PyModule_AddIntConstant(m, "EVENT_BEGIN", HR_EVENT_BEGIN) < 0 ||
        PyModule_AddIntConstant(m, "EVENT_PROGRESS", HR_EVENT_PROGRESS) < 0 ||
        PyModule_AddIntConstant(m, "EVENT_END", HR_EVENT_END) < 0 ||
        PyModule_AddIntConstant(m, "EVENT_INFO", HR_EVENT_INFO) < 0 ||
        PyModule_AddIntConstant(m, "EVENT_NOTE", HR_EVENT_NOTE) < 0) {
        Py_XDECREF(input_bases);
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(input_bases);
    return m;
}
