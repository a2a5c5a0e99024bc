/* tests/fuzz/fuzz_npy.c: the .npy reader (hyporank/npy.h). */
#include "fuzz_util.h"
#include "hyporank/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".npy");
    float *m = NULL;
    size_t rows = 0, cols = 0;
    char err[512];
    if (hr_npy_read_f32(path, &m, &rows, &cols, err, sizeof err) == HR_OK && rows * cols > 0) {
        volatile float sink = m[rows * cols - 1]; /* every element is there */
        (void)sink;
    }
    free(m);
    unlink(path);
    return 0;
}
