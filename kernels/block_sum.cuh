/*
 * kernels/block_sum.cuh: the sum of one float per thread over a block of
 * THREADS threads (a multiple of 32), every thread getting the total. The
 * row kernels (LayerNorm, L2 norm, pooling) use it with one block a row.
 */
#ifndef HYPORANK_BLOCK_SUM_CUH
#define HYPORANK_BLOCK_SUM_CUH

template <int THREADS>
__device__ static float block_sum(float v)
{
    static_assert(THREADS % 32 == 0 && THREADS <= 1024, "whole warps, one block");
    __shared__ float partial[THREADS / 32];
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    __syncthreads(); /* partial may still be read from an earlier call */
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    float total = 0.f;
    for (int w = 0; w < THREADS / 32; w++) total += partial[w];
    return total;
}

#endif
