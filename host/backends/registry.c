/*
 * host/backends/registry.c: the backends this build has, and hyporank/device.h
 * (parsing devices, whether one is usable, the auto policy).
 *
 * Built-in backends are listed here, one line each in HR_BUILTIN_BACKENDS,
 * under the build option that compiles their folder (host/backends/backend.h
 * says why a list and not constructors); programs add their own with
 * hr_backend_register.
 */
#include "backends/backend.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

/* Build options, each compiling one backend's folder (CMakeLists.txt). */
#ifdef HR_HAVE_CUDA
#define HR_WITH_CUDA(x) x
#else
#define HR_WITH_CUDA(x)
#endif

/* The built-in backends, one line each: X(name) for the const hr_backend
 * hr_backend_<name> in host/backends/<name>/, under its build option. */
#define HR_BUILTIN_BACKENDS(X) \
    X(cpu)                     \
    HR_WITH_CUDA(X(cuda))

#define HR_DECLARE_BACKEND(name) extern const hr_backend hr_backend_##name;
HR_BUILTIN_BACKENDS(HR_DECLARE_BACKEND)
#define HR_LIST_BACKEND(name) &hr_backend_##name,
static const hr_backend *const builtin[] = {HR_BUILTIN_BACKENDS(HR_LIST_BACKEND)};
#define N_BUILTIN (sizeof builtin / sizeof builtin[0])

/* Backends registered at run time (tests, plugins). */
#define MAX_EXTRA 16
static const hr_backend *extra[MAX_EXTRA];
static size_t n_extra;

int hr_backend_register(const hr_backend *b)
{
    if (!b || n_extra == MAX_EXTRA) return -1;
    extra[n_extra++] = b;
    return 0;
}

size_t hr_backend_count(void)
{
    return N_BUILTIN + n_extra;
}

const hr_backend *hr_backend_at(size_t i)
{
    if (i < N_BUILTIN) return builtin[i];
    return i - N_BUILTIN < n_extra ? extra[i - N_BUILTIN] : NULL;
}

const hr_backend *hr_backend_named(const char *name)
{
    for (size_t i = hr_backend_count(); name && i-- > 0;)
        if (strcmp(hr_backend_at(i)->name, name) == 0) return hr_backend_at(i);
    return NULL;
}

int hr_backend_has(const hr_backend *b, hr_service svc)
{
    switch (svc) {
    case HR_SERVICE_ENCODER: return b->encoder != NULL;
    case HR_SERVICE_SCORER: return b->scorer != NULL;
    case HR_SERVICE_PROBE: return b->probe != NULL;
    }
    return 0;
}

int hr_backend_usable(const hr_backend *b, const char **why)
{
    if (why) *why = NULL;
    return b->usable ? b->usable(why) : 1;
}

/* The last registered backend of device with svc (any service when svc < 0). */
static const hr_backend *find(hr_device device, int svc)
{
    for (size_t i = hr_backend_count(); i-- > 0;) {
        const hr_backend *b = hr_backend_at(i);
        if (b->device == device && (svc < 0 || hr_backend_has(b, (hr_service)svc))) return b;
    }
    return NULL;
}

/* The first registered backend of device: the built-in one, which speaks
 * for the device (its name, whether it is present). */
static const hr_backend *first(hr_device device)
{
    for (size_t i = 0; i < hr_backend_count(); i++)
        if (hr_backend_at(i)->device == device) return hr_backend_at(i);
    return NULL;
}

static hr_status missing(hr_device device, char *err, size_t errlen)
{
    if (device == HR_DEVICE_CUDA)
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen,
                       "this hyporank was built without the CUDA toolkit");
    return hr_fail(HR_ERR_UNSUPPORTED, err, errlen, "this hyporank has no %s backend",
                   hr_device_str(device));
}

hr_status hr_backend_for(hr_device device, hr_service svc, const hr_backend **out, char *err,
                         size_t errlen)
{
    *out = device == HR_DEVICE_AUTO ? NULL : find(device, (int)svc);
    if (*out) return HR_OK;
    if (device != HR_DEVICE_AUTO && find(device, -1))
        return hr_fail(HR_ERR_UNSUPPORTED, err, errlen, "the %s backend has no %s",
                       hr_device_str(device),
                       svc == HR_SERVICE_ENCODER ? "encoder"
                       : svc == HR_SERVICE_SCORER ? "scorer" : "probe");
    return missing(device, err, errlen);
}

const hr_backend *hr_backend_accelerator(hr_service svc, const char **why)
{
    const char *first_why = NULL;
    for (size_t i = 0; i < hr_backend_count(); i++) {
        const hr_backend *b = hr_backend_at(i);
        if (b->device == HR_DEVICE_CPU || !hr_backend_has(b, svc)) continue;
        const char *w = NULL;
        if (hr_backend_usable(b, &w)) return b;
        if (!first_why) first_why = w ? w : "no device found";
    }
    if (why)
        *why = first_why ? first_why
                         : "this hyporank was built without the CUDA toolkit"; /* no accelerator */
    return NULL;
}

/* ---- hyporank/device.h ---- */

int hr_device_parse(const char *s, hr_device *out)
{
    if (!s) return -1;
    if (strcmp(s, "auto") == 0) *out = HR_DEVICE_AUTO;
    else if (strcmp(s, "cpu") == 0) *out = HR_DEVICE_CPU;
    else if (strcmp(s, "cuda") == 0) *out = HR_DEVICE_CUDA;
    else return -1;
    return 0;
}

const char *hr_device_str(hr_device d)
{
    switch (d) {
    case HR_DEVICE_AUTO: return "auto";
    case HR_DEVICE_CPU: return "cpu";
    case HR_DEVICE_CUDA: return "cuda";
    }
    return "unknown";
}

int hr_device_usable(hr_device d, const char **why)
{
    if (why) *why = NULL;
    const hr_backend *b = d == HR_DEVICE_AUTO ? NULL : first(d);
    if (!b) {
        if (why)
            *why = d == HR_DEVICE_CUDA ? "this hyporank was built without the CUDA toolkit"
                                       : "no backend for this device in this build";
        return 0;
    }
    return hr_backend_usable(b, why);
}

hr_status hr_device_name(hr_device d, char *name, size_t namelen, size_t *total_mem, char *err,
                         size_t errlen)
{
    const hr_backend *b = d == HR_DEVICE_AUTO ? NULL : first(d);
    if (!b) return missing(d, err, errlen);
    if (b->device_name) return b->device_name(name, namelen, total_mem, err, errlen);
    if (name && namelen > 0) snprintf(name, namelen, "%s", b->name);
    if (total_mem) *total_mem = 0;
    return HR_OK;
}

int hr_device_falls_back(hr_device requested, hr_status st)
{
    if (requested != HR_DEVICE_AUTO) return 0;
    switch (st) {
    case HR_ERR_NO_DEVICE:   /* no usable device */
    case HR_ERR_UNSUPPORTED: /* a model, method or input the accelerator cannot run */
    case HR_ERR_CUDA:        /* a device call failed */
    case HR_ERR_NOMEM:       /* device or host memory */
        return 1;
    default: /* HR_ERR_INPUT: the CPU would refuse it too; HR_ERR_INTERNAL: a bug */
        return 0;
    }
}
