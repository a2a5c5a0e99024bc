/*
 * python/src/_blas.c: the extension module hyporank._blas, which only asks
 * OpenBLAS which kernels it would run here (host/backends/cpu/blas_core.h).
 *
 * OpenBLAS picks its kernels once, when it loads, from OPENBLAS_CORETYPE or
 * the CPU it recognises; an OpenBLAS older than the CPU falls back to SSE3
 * kernels several times slower. The hyporank program runs itself again with
 * the better OPENBLAS_CORETYPE; a Python process cannot, so the package
 * loads this module in a short child process, before it loads
 * hyporank._hyporank (and with it OpenBLAS), and sets the variable for that
 * import when the answer is not None (python/hyporank/_native.py).
 */
#define PY_SSIZE_T_CLEAN
#ifndef Py_LIMITED_API
#define Py_LIMITED_API 0x030B0000
#endif
#include <Python.h>

#include "backends/cpu/blas_core.h"

static PyObject *better_coretype(PyObject *mod, PyObject *noargs)
{
    (void)mod, (void)noargs;
    const char *core = hr_blas_better_coretype();
    if (core) return PyUnicode_FromString(core);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"better_coretype", better_coretype, METH_NOARGS,
     "The OPENBLAS_CORETYPE that would serve this CPU better than OpenBLAS's own choice, "
     "or None."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_blas",
                                        "Which OpenBLAS kernels to ask for.", -1, methods,
                                        NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__blas(void) { return PyModule_Create(&module_def); }
