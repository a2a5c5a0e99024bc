/* tests/fuzz/fuzz_safetensors.c: the safetensors reader (host/io/safetensors.h):
 * open, then read every float tensor as its header describes it. */
#include "fuzz_util.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".safetensors");
    hr_st_file *f = NULL;
    char err[512];
    if (hr_st_open(path, &f, err, sizeof err) == HR_OK) {
        for (size_t i = 0; i < hr_st_count(f); i++) {
            const hr_st_tensor *t = hr_st_at(f, i);
            if (t->numel > ((size_t)1 << 24)) continue; /* bounded by the file anyway */
            float *dst = malloc((t->numel ? t->numel : 1) * sizeof *dst);
            if (!dst) abort();
            (void)hr_st_read_f32(f, t->name, t->ndim, t->shape, dst, err, sizeof err);
            free(dst);
        }
    }
    hr_st_close(f);
    unlink(path);
    return 0;
}
