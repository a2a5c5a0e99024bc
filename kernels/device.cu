/* kernels/device.cu: finding out whether a usable CUDA device is present. */
#include "backends/cuda/cuda.h"
#include "cuda_check.cuh"

#include <string.h>

extern "C" int hr_cuda_device_count(const char **why)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        if (why) *why = cudaGetErrorString(e);
        cudaGetLastError(); /* clear the sticky-free error so later calls start clean */
        return 0;
    }
    if (n == 0 && why) *why = "no CUDA device found";
    return n;
}

extern "C" hr_status hr_cuda_device_info(char *name, size_t namelen, size_t *total_mem,
                                         char *err, size_t errlen)
{
    hr_status st = HR_OK;
    cudaDeviceProp prop;
    HR_CUDA_TRY(cudaGetDeviceProperties(&prop, 0));
    if (name && namelen > 0) {
        strncpy(name, prop.name, namelen - 1);
        name[namelen - 1] = '\0';
    }
    if (total_mem) *total_mem = prop.totalGlobalMem;
cleanup:
    return st;
}
