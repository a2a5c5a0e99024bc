/* host/cli/main.c: the hyporank program; dispatches to one command. */
#include "backends/cpu/blas_core.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char main_help[] =
    "usage: hyporank COMMAND [options]   (hyporank COMMAND --help for its options)\n"
    "\n"
    "hyporank tells, in plain sentences, how two collections of text differ.\n"
    "\n"
    "Commands:\n"
    "  describe   how corpus A differs from corpus B, in sentences, both ways\n"
    "  rank       rank your hypotheses by how well they separate A from B\n"
    "  explain    how much of a classifier's performance a few hypotheses explain\n"
    "  embed      embed the texts of a file with the sentence encoder, to .npy\n"
    "\n"
    "Input files are .jsonl (one {\"text\": ...} a line), .txt (one text a line)\n"
    "or .csv (a header row and a \"text\" column).\n"
    "\n"
    "Exit status: 0 success, 2 bad arguments or input (the message says which\n"
    "file, line and what was wrong; also an output path that is an input, the\n"
    "cache or another output, and an LLM endpoint that refuses its URL, key or\n"
    "model), 3 describe asked for an LLM and not one answer was usable (the\n"
    "offline report is still printed and written), 1 any other failure.\n";

int main(int argc, char **argv)
{
    hr_blas_use_better_kernels(argv); /* host/backends/cpu/blas_core.h */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(main_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("hyporank %s\n", HR_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "describe") == 0) return cmd_describe(argc - 2, argv + 2);
    if (strcmp(argv[1], "embed") == 0) return cmd_embed(argc - 2, argv + 2);
    if (strcmp(argv[1], "rank") == 0) return cmd_rank(argc - 2, argv + 2);
    if (strcmp(argv[1], "explain") == 0) return cmd_explain(argc - 2, argv + 2);
    fprintf(stderr, "hyporank: unknown command '%s'\n\n%s", argv[1], main_help);
    return CLI_EXIT_USAGE;
}
