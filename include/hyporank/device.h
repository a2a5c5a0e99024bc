/*
 * hyporank/device.h: where the work runs, and what HR_DEVICE_AUTO does when
 * an accelerator cannot do it.
 *
 * Every service (the encoder, hyporank/encoder.h; the scorer,
 * hyporank/scorer.h; the probe, hyporank/probe.h) takes an hr_device:
 *
 *   HR_DEVICE_CPU   the CPU backend, the specification every other backend
 *                   must agree with; present in every build.
 *   HR_DEVICE_CUDA  the CUDA backend: present when the library was built with
 *                   the CUDA toolkit (else the service fails with
 *                   HR_ERR_UNSUPPORTED), usable when a GPU is there (else
 *                   HR_ERR_NO_DEVICE).
 *   HR_DEVICE_AUTO  an accelerator when one is present, usable and worth it
 *                   for the work (each service says when), else the CPU.
 *
 * The auto policy is one rule for every service (hr_device_falls_back): an
 * accelerator that fails with HR_ERR_NO_DEVICE (no usable device),
 * HR_ERR_UNSUPPORTED (a model, method or input it cannot run), HR_ERR_CUDA (a
 * device call failed) or HR_ERR_NOMEM (device or host memory) hands the work
 * to the CPU, at create or during a call, and the handle stays on the CPU
 * from then on. Any other status (HR_ERR_INPUT: the input is bad, the CPU
 * would refuse it too; HR_ERR_INTERNAL: a bug) is returned as it is. With
 * HR_DEVICE_CPU or HR_DEVICE_CUDA nothing falls back.
 *
 *     hr_device d;
 *     if (hr_device_parse(argv[i], &d) != 0) ...          // "cpu", "cuda", "auto"
 *     const char *why = NULL;
 *     if (!hr_device_usable(HR_DEVICE_CUDA, &why)) printf("no GPU: %s\n", why);
 *
 * Backends live in host/backends/<name>/ and register themselves with the
 * library (host/backends/backend.h; README, "Backends").
 */
#ifndef HYPORANK_DEVICE_H
#define HYPORANK_DEVICE_H

#include "hyporank/status.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hr_device { HR_DEVICE_AUTO = 0, HR_DEVICE_CPU, HR_DEVICE_CUDA } hr_device;

/* Parses "cpu", "cuda" or "auto"; returns 0 on success, -1 otherwise. */
int hr_device_parse(const char *s, hr_device *out);
/* "auto", "cpu", "cuda" ("unknown" for anything else). */
const char *hr_device_str(hr_device d);

/* 1 when this build has a backend for d (not HR_DEVICE_AUTO) and a device
 * for it is present (the CPU always is); else 0, and when why is not NULL,
 * *why says why (static text). */
int hr_device_usable(hr_device d, const char **why);

/* Name and memory of the device d runs on (the GPU's name and its memory in
 * bytes; for the CPU "cpu" and 0), for messages and benchmark lines.
 * total_mem may be NULL. HR_ERR_UNSUPPORTED when this build has no backend
 * for d. */
hr_status hr_device_name(hr_device d, char *name, size_t namelen, size_t *total_mem, char *err,
                         size_t errlen);

/* The auto policy (above): 1 when requested is HR_DEVICE_AUTO and an
 * accelerator's failure with status st lets the CPU take over. */
int hr_device_falls_back(hr_device requested, hr_status st);

#ifdef __cplusplus
}
#endif

#endif
